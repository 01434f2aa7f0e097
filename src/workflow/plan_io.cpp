#include "cryptounet/workflow/plan_io.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cryptounet/common/binary_io.h"
#include "cryptounet/common/error.h"
#include "cryptounet/common/sha256.h"
#include "cryptounet/he/backends/ckks_backend.h"
#include "cryptounet/model/model_card.h"

namespace cryptounet::nn {

namespace {

using nlohmann::json;

constexpr std::uint64_t kMaxPlanBytes = std::uint64_t{64} << 20;  // a plan is a few hundred KiB

const char* kind_key(OpKind k) { return op_name(k); }

// The writer writes every field but a layer's "factor" as JSON integers. A fractional number
// anywhere else is refused before any get<int>/get<long>: converting one out of the integer's range
// (3e121, say) is undefined behaviour. Walked with an explicit stack, so deep nesting cannot
// overflow the call stack.
void check_integer_fields(const json& root) {
  std::vector<std::pair<const json*, bool>> todo{{&root, false}};  // (value, fractions allowed)
  while (!todo.empty()) {
    const auto [v, fractions] = todo.back();
    todo.pop_back();
    if (v->is_number_float() && !fractions)
      throw FormatError("plan: a fractional number where an integer is expected");
    if (v->is_object()) {
      for (auto it = v->begin(); it != v->end(); ++it) todo.emplace_back(&it.value(), it.key() == "factor");
    } else if (v->is_array()) {
      for (const json& e : *v) todo.emplace_back(&e, fractions);
    }
  }
}

OpKind parse_kind(const std::string& s) {
  for (OpKind k : {OpKind::Input, OpKind::Conv2d, OpKind::ConvTranspose2d, OpKind::AvgPool2d,
                   OpKind::Square, OpKind::Concat, OpKind::Add})
    if (s == op_name(k)) return k;
  throw FormatError("plan: unknown layer kind '" + s + "'");
}

packing::PackingMode parse_mode(const std::string& s) {
  for (auto m : {packing::PackingMode::latency, packing::PackingMode::throughput})
    if (s == packing::mode_name(m)) return m;
  throw FormatError("plan: unknown packing mode '" + s + "'");
}

LinearStrategy parse_strategy(const std::string& s) {
  for (auto st : {LinearStrategy::diagonal, LinearStrategy::masked_scalar})
    if (s == strategy_name(st)) return st;
  throw FormatError("plan: unknown linear strategy '" + s + "'");
}

TapSide parse_taps(const std::string& s) {
  for (auto t : {TapSide::taps_in, TapSide::taps_out})
    if (s == tap_side_name(t)) return t;
  throw FormatError("plan: unknown tap side '" + s + "'");
}

json counts_json(const OpCounts& c) {
  return json{{"rotations", c.rotations},     {"hoisted_groups", c.hoisted_groups},
              {"hoisted_rotations", c.hoisted_rotations}, {"relins", c.relins},
              {"pt_products", c.pt_products}, {"scalar_products", c.scalar_products},
              {"encodings", c.encodings},     {"rescales", c.rescales},
              {"adds", c.adds},               {"level_drops", c.level_drops}};
}

OpCounts counts_from(const json& j) {
  OpCounts c;
  c.rotations = j.at("rotations").get<long>();
  c.hoisted_groups = j.at("hoisted_groups").get<long>();
  c.hoisted_rotations = j.at("hoisted_rotations").get<long>();
  c.relins = j.at("relins").get<long>();
  c.pt_products = j.at("pt_products").get<long>();
  c.scalar_products = j.at("scalar_products").get<long>();
  c.encodings = j.at("encodings").get<long>();
  c.rescales = j.at("rescales").get<long>();
  c.adds = j.at("adds").get<long>();
  c.level_drops = j.at("level_drops").get<long>();
  return c;
}

json grid_json(const packing::Grid& g) {
  json j{{"slots", g.slots}, {"height", g.height}, {"width", g.width}, {"plane", g.plane}, {"rows", g.rows}};
  if (g.bands > 1) j["bands"] = g.bands;  // absent: one ciphertext per plane (older plans)
  return j;
}

packing::Grid grid_from(const json& j) {
  // Rebuilt (and so checked) from its defining sizes; the stored plane and rows must agree.
  packing::Grid g = packing::Grid::from_parts(j.at("slots").get<int>(), j.at("height").get<int>(),
                                              j.at("width").get<int>(),
                                              j.contains("bands") ? j.at("bands").get<int>() : 1);
  if (g.plane != j.at("plane").get<int>() || g.rows != j.at("rows").get<int>())
    throw InvalidArgument("plan: the grid's plane/rows do not match its size");
  return g;
}

json layout_json(const packing::DvrLayout& l) {
  json j{{"mode", packing::mode_name(l.mode())}, {"channels", l.channels()},
         {"height", l.height()},                 {"width", l.width()},
         {"stride", l.stride()},                 {"batch", l.batch()},
         {"rows", l.row_table()}};
  if (l.multiplexed()) {  // absent: one image per row (older plans)
    j["groups"] = l.groups();
    j["mux"] = l.mux();
  }
  return j;
}

packing::DvrLayout layout_from(const json& j, const packing::Grid& grid) {
  return packing::DvrLayout::from_parts(parse_mode(j.at("mode").get<std::string>()), grid,
                                        j.at("channels").get<int>(), j.at("height").get<int>(),
                                        j.at("width").get<int>(), j.at("stride").get<int>(),
                                        j.at("batch").get<int>(),
                                        j.at("rows").get<std::vector<std::vector<int>>>(),
                                        j.contains("groups") ? j.at("groups").get<int>() : 1,
                                        j.contains("mux") ? j.at("mux").get<int>() : 1);
}

json plan_json(const PlanFile& f) {
  const Plan& p = f.plan;
  json layers = json::array();
  for (const LayerPlan& lp : p.layers)
    layers.push_back(json{{"node", lp.node},
                          {"name", lp.name},
                          {"kind", kind_key(lp.kind)},
                          {"layout", layout_json(lp.layout)},
                          {"level", lp.level},
                          {"factor", lp.factor},
                          {"strategy", strategy_name(lp.strategy)},
                          {"taps", tap_side_name(lp.taps)},
                          {"predicted", counts_json(lp.predicted)}});
  json model{{"name", f.model_name}, {"fingerprint", f.model_fingerprint}};
  if (f.mask_cleanup != MaskCleanup::none) model["mask_cleanup"] = mask_cleanup_name(f.mask_cleanup);
  return json{{"format", "cryptounet-plan"},
              {"model", std::move(model)},
              {"ckks",
               {{"log_n", p.log_n},
                {"log_q", p.log_q},
                {"log_p", p.log_p},
                {"log_scale", p.log_scale},
                {"dnum", p.dnum},
                {"insecure_for_tests", p.insecure_for_tests}}},
              {"mask_bits", p.mask_bits},
              {"mode", packing::mode_name(p.mode)},
              {"batch", p.batch},
              {"grid", grid_json(p.grid)},
              {"depth", p.depth},
              {"input_level", p.input_level},
              {"output_node", p.output_node},
              {"output_level", p.output_level},
              {"rotation_steps", p.rotation_steps},
              {"total", counts_json(p.total)},
              {"layers", layers}};
}

// Structural checks beyond what the layout constructors check, so a plan that parses is safe
// to index with.
void check_plan(const Plan& p) {
  auto bad = [](const std::string& m) { throw FormatError("plan: " + m); };
  if (p.log_n < 10 || p.log_n > 16) bad("log_n " + std::to_string(p.log_n) + " outside 10..16");
  if (p.grid.slots != (1 << (p.log_n - 1)))
    bad("grid of " + std::to_string(p.grid.slots) + " slots for N=2^" + std::to_string(p.log_n));
  if (p.layers.empty()) bad("no layers");
  if (p.output_node < 0 || p.output_node >= static_cast<int>(p.layers.size()))
    bad("output node " + std::to_string(p.output_node) + " out of range");
  const int max_level = static_cast<int>(p.log_q.size()) - 1;
  if (p.input_level < 0 || p.input_level > max_level || p.output_level < 0 ||
      p.output_level > p.input_level)
    bad("levels (input " + std::to_string(p.input_level) + ", output " +
        std::to_string(p.output_level) + ") do not fit " + std::to_string(max_level + 1) +
        " Q primes");
  // Every layout was checked on its own (DvrLayout::from_parts); across layers: one batch and the
  // same images per team (multiplexed layouts trade groups for images per cell), at most 16x16.
  const packing::DvrLayout& in = p.layers[0].layout;
  const long cells = static_cast<long>(in.groups()) * in.mux() * in.mux();
  if (cells > 256) bad(std::to_string(cells) + " image groups per channel (at most 256)");
  if (p.batch < 1 || p.batch > p.grid.rows * cells) bad("batch " + std::to_string(p.batch) + " out of range");
  for (std::size_t i = 0; i < p.layers.size(); ++i) {
    const LayerPlan& lp = p.layers[i];
    if (lp.node != static_cast<int>(i)) bad("layer " + std::to_string(i) + " has node index " + std::to_string(lp.node));
    if (!(lp.layout.grid() == p.grid)) bad("layer '" + lp.name + "' has another grid");
    if (lp.layout.batch() != p.batch || static_cast<long>(lp.layout.groups()) * lp.layout.mux() * lp.layout.mux() != cells)
      bad("layer '" + lp.name + "' holds another batch than the plan's");
    if (static_cast<int>(lp.factor.size()) != lp.layout.team_size())
      bad("layer '" + lp.name + "' has " + std::to_string(lp.factor.size()) + " factors for a team of " +
          std::to_string(lp.layout.team_size()));
    for (double f : lp.factor)
      if (!(f > 0.0) || !std::isfinite(f)) bad("layer '" + lp.name + "' has a non-positive factor");
    if (lp.level < 0 || lp.level > max_level) bad("layer '" + lp.name + "' level out of range");
  }
  if (p.layers[0].kind != OpKind::Input) bad("layer 0 is not the input");
  for (int s : p.rotation_steps)
    if (s <= 0 || s >= p.grid.slots) bad("rotation step " + std::to_string(s) + " out of range");
}

}  // namespace

std::string model_file_fingerprint(const std::string& model_path) {
  Sha256 h;
  const auto model = read_file(model_path, std::uint64_t{1} << 32);
  h.update(model);
  const std::string card = model_card_path(model_path);
  if (std::filesystem::exists(card)) {
    const auto c = read_file(card, std::uint64_t{1} << 28);
    h.update(c);
  }
  const auto d = h.finish();
  return hex(d);
}

ckks::Params plan_params(const Plan& plan) { return ckks::Params::from_literal(params_literal(plan)); }

std::string plan_to_json(const PlanFile& file) { return plan_json(file).dump(1); }

PlanFile plan_from_json(const std::string& text) {
  PlanFile f;
  try {
    const json j = json::parse(text);
    check_integer_fields(j);
    if (j.at("format").get<std::string>() != "cryptounet-plan")
      throw FormatError("plan: not a cryptounet plan (format '" + j.at("format").get<std::string>() + "')");
    f.model_name = j.at("model").at("name").get<std::string>();
    f.model_fingerprint = j.at("model").at("fingerprint").get<std::string>();
    if (j.at("model").contains("mask_cleanup"))
      f.mask_cleanup = read_mask_cleanup(j.at("model").at("mask_cleanup").get<std::string>(), "plan: model.mask_cleanup");
    Plan& p = f.plan;
    const json& c = j.at("ckks");
    p.log_n = c.at("log_n").get<int>();
    p.log_q = c.at("log_q").get<std::vector<int>>();
    p.log_p = c.at("log_p").get<std::vector<int>>();
    p.log_scale = c.at("log_scale").get<int>();
    p.dnum = c.at("dnum").get<int>();
    p.insecure_for_tests = c.at("insecure_for_tests").get<bool>();
    p.mask_bits = j.at("mask_bits").get<int>();
    p.mode = parse_mode(j.at("mode").get<std::string>());
    p.batch = j.at("batch").get<int>();
    p.grid = grid_from(j.at("grid"));
    if (p.log_n < 10 || p.log_n > 16 || p.grid.slots != (1 << (p.log_n - 1)))
      throw FormatError("plan: grid of " + std::to_string(p.grid.slots) + " slots for log_n " +
                        std::to_string(p.log_n));
    p.depth = j.at("depth").get<int>();
    p.input_level = j.at("input_level").get<int>();
    p.output_node = j.at("output_node").get<int>();
    p.output_level = j.at("output_level").get<int>();
    p.rotation_steps = j.at("rotation_steps").get<std::vector<int>>();
    p.total = counts_from(j.at("total"));
    for (const json& l : j.at("layers")) {
      LayerPlan lp;
      lp.node = l.at("node").get<int>();
      lp.name = l.at("name").get<std::string>();
      lp.kind = parse_kind(l.at("kind").get<std::string>());
      lp.layout = layout_from(l.at("layout"), p.grid);
      lp.level = l.at("level").get<int>();
      lp.factor = l.at("factor").get<std::vector<double>>();
      lp.strategy = parse_strategy(l.at("strategy").get<std::string>());
      lp.taps = parse_taps(l.at("taps").get<std::string>());
      lp.predicted = counts_from(l.at("predicted"));
      p.layers.push_back(std::move(lp));
    }
  } catch (const json::exception& e) {
    throw FormatError(std::string("plan: malformed JSON: ") + e.what());
  } catch (const InvalidArgument& e) {
    throw FormatError(std::string("plan: inconsistent layout: ") + e.what());
  }
  check_plan(f.plan);
  return f;
}

std::uint64_t plan_fingerprint(const PlanFile& file) {
  const std::string text = plan_json(file).dump();
  Sha256 h;
  h.update(text);
  return h.finish_u64();
}

std::vector<std::uint8_t> encode_plan_file(const PlanFile& file) {
  const std::string text = plan_to_json(file);
  BinaryWriter w;
  write_header(w, ObjectKind::Plan, plan_params(file.plan).fingerprint(), text.size());
  w.raw(std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  return w.take();
}

PlanFile decode_plan_file(std::span<const std::uint8_t> bytes, const std::string& what) {
  BinaryReader r(bytes, what);
  const FileHeader h = read_header(r, ObjectKind::Plan, 0);
  const auto payload = r.raw(r.remaining());
  PlanFile f;
  try {
    f = plan_from_json(std::string(payload.begin(), payload.end()));
  } catch (const FormatError& e) {
    throw FormatError(what + ": " + e.what());
  }
  std::uint64_t fp = 0;
  try {
    fp = plan_params(f.plan).fingerprint();
  } catch (const Error& e) {
    throw FormatError(what + ": its CKKS parameters are invalid: " + e.what());
  }
  if (fp != h.fingerprint)
    throw SecurityError(what + ": the header's parameter fingerprint " + std::to_string(h.fingerprint) +
                        " does not match the parameters inside (" + std::to_string(fp) + ")");
  return f;
}

void write_plan_file(const std::string& path, const PlanFile& file) {
  write_file_atomic(path, encode_plan_file(file));
}

PlanFile read_plan_file(const std::string& path) {
  return decode_plan_file(read_file(path, kMaxPlanBytes), "plan '" + path + "'");
}

}  // namespace cryptounet::nn
