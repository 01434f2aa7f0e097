// The plan file: JSON and binary round trips are exact; damaged, truncated or tampered files are
// refused with FormatError/SecurityError, never crash.
#include <gtest/gtest.h>

#include "cryptounet/common/binary_io.h"
#include "cryptounet/common/error.h"
#include "cryptounet/workflow/plan_io.h"
#include "he/he_test_util.h"

using namespace cryptounet;
using namespace cryptounet::nn;
using namespace cryptounet::nn::testing;

namespace {

PlanFile small_plan_file(packing::PackingMode mode, int mux = 1) {
  GraphBuilder b(7);
  int x = b.input(1, 8, 8);
  x = b.conv(x, 3, 3);
  x = b.square(x);
  int p = b.pool(x);
  int y = b.conv(p, 4, 3);
  y = b.conv_t(y, 3);
  y = b.concat(x, y);
  y = b.conv(y, 2, 1);
  Graph g = b.finish(y);
  PlanOptions o;
  o.mode = mode;
  o.batch = mode == packing::PackingMode::throughput ? (mux > 1 ? 0 : 2) : 1;
  o.log_n = 10;
  o.insecure_for_tests = true;
  o.mux = mux;
  PlanFile f;
  f.plan = make_plan(g, o);
  f.model_name = g.name;
  f.model_fingerprint = "00ff";
  return f;
}

}  // namespace

TEST(PlanIo, JsonAndFileRoundTripExactly) {
  for (auto mode : {packing::PackingMode::latency, packing::PackingMode::throughput}) {
    const PlanFile f = small_plan_file(mode);
    const std::string text = plan_to_json(f);
    const PlanFile back = plan_from_json(text);
    EXPECT_EQ(plan_to_json(back), text);
    EXPECT_EQ(plan_fingerprint(back), plan_fingerprint(f));
    ASSERT_EQ(back.plan.layers.size(), f.plan.layers.size());
    for (std::size_t i = 0; i < f.plan.layers.size(); ++i) {
      EXPECT_EQ(back.plan.layers[i].layout, f.plan.layers[i].layout);
      EXPECT_EQ(back.plan.layers[i].factor, f.plan.layers[i].factor);
      EXPECT_EQ(back.plan.layers[i].predicted, f.plan.layers[i].predicted);
    }
    EXPECT_EQ(back.plan.rotation_steps, f.plan.rotation_steps);
    EXPECT_EQ(back.plan.total, f.plan.total);
    const auto bytes = encode_plan_file(f);
    const PlanFile back2 = decode_plan_file(bytes);
    EXPECT_EQ(plan_to_json(back2), text);
    EXPECT_EQ(plan_params(back2.plan).fingerprint(), plan_params(f.plan).fingerprint());
  }
}

// A multiplexed throughput plan keeps its groups and images per cell; a tampered count is refused.
TEST(PlanIo, MultiplexedPlanRoundTripsAndIsChecked) {
  const PlanFile f = small_plan_file(packing::PackingMode::throughput, 2);
  bool merged = false;
  for (const LayerPlan& lp : f.plan.layers) merged |= lp.layout.mux() == 2;
  ASSERT_TRUE(merged);
  const std::string text = plan_to_json(f);
  const PlanFile back = plan_from_json(text);
  EXPECT_EQ(plan_to_json(back), text);
  for (std::size_t i = 0; i < f.plan.layers.size(); ++i) EXPECT_EQ(back.plan.layers[i].layout, f.plan.layers[i].layout);
  EXPECT_NE(plan_fingerprint(f), plan_fingerprint(small_plan_file(packing::PackingMode::throughput)));
  std::string bad = text;
  const auto at = bad.find("\"groups\": 4");
  ASSERT_NE(at, std::string::npos);
  bad.replace(at, 12, "\"groups\": 2");
  EXPECT_THROW((void)plan_from_json(bad), FormatError);
  std::string big = text;
  big.replace(big.find("\"mux\": 2"), 9, "\"mux\": 8");
  EXPECT_THROW((void)plan_from_json(big), FormatError);
}

// An integer field given as a fraction, or as a float far outside any integer's range, is refused
// (found by fuzz_plan: 3e+121 as a long was undefined behaviour); layer factors stay fractional.
TEST(PlanIo, FractionalNumbersInIntegerFieldsAreRefused) {
  const PlanFile f = small_plan_file(packing::PackingMode::latency);
  const std::string text = plan_to_json(f);
  ASSERT_NE(text.find("\"factor\": ["), std::string::npos);
  EXPECT_NO_THROW((void)plan_from_json(text));
  for (const std::string& field : {std::string("\"log_n\": "), std::string("\"rotations\": "),
                                   std::string("\"depth\": ")}) {
    for (const char* value : {"3e+121", "12.5"}) {
      std::string bad = text;
      const auto at = bad.find(field);
      ASSERT_NE(at, std::string::npos) << field;
      const auto end = bad.find_first_of(",\n}", at + field.size());
      bad.replace(at + field.size(), end - at - field.size(), value);
      EXPECT_THROW((void)plan_from_json(bad), FormatError) << field << value;
    }
  }
}

// The card's mask step travels in the plan (the client's default for --clean-mask): written only
// when it is not none, so other models' plans and fingerprints stay as they were; a step the
// client does not know is refused.
TEST(PlanIo, MaskCleanupTravelsOnlyWhenSet) {
  const PlanFile none = small_plan_file(packing::PackingMode::latency);
  const std::string none_text = plan_to_json(none);
  EXPECT_EQ(none_text.find("mask_cleanup"), std::string::npos);
  EXPECT_EQ(plan_from_json(none_text).mask_cleanup, MaskCleanup::none);
  PlanFile fill = none;
  fill.mask_cleanup = MaskCleanup::fill_holes;
  const std::string text = plan_to_json(fill);
  ASSERT_NE(text.find("\"mask_cleanup\": \"fill_holes\""), std::string::npos);
  const PlanFile back = decode_plan_file(encode_plan_file(fill));
  EXPECT_EQ(back.mask_cleanup, MaskCleanup::fill_holes);
  EXPECT_EQ(plan_to_json(back), text);
  EXPECT_NE(plan_fingerprint(fill), plan_fingerprint(none));
  for (const char* bad_value : {"\"largest\"", "1", "null"}) {
    std::string bad = text;
    const std::string key = "\"mask_cleanup\": \"fill_holes\"";
    bad.replace(bad.find(key), key.size(), std::string("\"mask_cleanup\": ") + bad_value);
    EXPECT_THROW((void)plan_from_json(bad), FormatError) << bad_value;
  }
}

TEST(PlanIo, DifferentPlansHaveDifferentFingerprints) {
  const PlanFile a = small_plan_file(packing::PackingMode::latency);
  PlanFile b = a;
  b.model_fingerprint = "00fe";
  EXPECT_NE(plan_fingerprint(a), plan_fingerprint(b));
  EXPECT_NE(plan_fingerprint(a), plan_fingerprint(small_plan_file(packing::PackingMode::throughput)));
}

TEST(PlanIo, DamagedFilesAreRefused) {
  const PlanFile f = small_plan_file(packing::PackingMode::latency);
  const auto bytes = encode_plan_file(f);
  // Every truncation is a FormatError.
  for (std::size_t n = 0; n < bytes.size(); n += 1 + n / 7) {
    std::vector<std::uint8_t> cut(bytes.begin(), bytes.begin() + n);
    EXPECT_THROW((void)decode_plan_file(cut), FormatError) << n;
  }
  // A header fingerprint that does not match the parameters inside.
  auto bad = bytes;
  bad[16] ^= 1;
  EXPECT_THROW((void)decode_plan_file(bad), SecurityError);
  // Flipping bytes of the JSON never crashes: it is refused or (if harmless) parses.
  for (std::size_t i = FileHeader::kSize; i < bytes.size(); i += 13) {
    auto b = bytes;
    b[i] = static_cast<std::uint8_t>(b[i] ^ 0x5a);
    try {
      (void)decode_plan_file(b);
    } catch (const Error&) {
    }
  }
  // Inconsistent fields: a layer's factors do not match its team.
  std::string text = plan_to_json(f);
  PlanFile g = plan_from_json(text);
  g.plan.layers[1].factor.push_back(1.0);
  EXPECT_THROW((void)plan_from_json(plan_to_json(g)), FormatError);
  g = plan_from_json(text);
  g.plan.grid.slots = 1 << 30;
  EXPECT_THROW((void)plan_from_json(plan_to_json(g)), FormatError);
  EXPECT_THROW((void)plan_from_json("{\"format\": \"cryptounet-plan\"}"), FormatError);
  EXPECT_THROW((void)plan_from_json("not json"), FormatError);
}
