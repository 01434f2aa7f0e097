#include "cryptounet/workflow/shared_keys.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "cryptounet/ckks/serialize.h"
#include "cryptounet/common/error.h"

namespace cryptounet::nn {

ckks::EvaluationKeys load_evaluation_keys_shared(distributed::World& world, const std::string& path,
                                                const ckks::Context& ctx, std::uint64_t max_bytes,
                                                SharedKeysReport* report) {
  const char* off = std::getenv("CU_SHARE_KEYS");
  if (!world.distributed() || (off != nullptr && std::string(off) == "0")) {
    ckks::EvaluationKeys evk = ckks::load_evaluation_keys_file(path, ctx, max_bytes);
    if (report) *report = SharedKeysReport{evk.galois.keys.size(), 0, 0};
    return evk;
  }
  const auto ranks = static_cast<std::size_t>(world.size());
  const auto rank = static_cast<std::size_t>(world.rank());
  auto owner = [&](std::size_t index) { return index % ranks; };
  ckks::KeySelection select;
  select.galois = [&](std::size_t index, std::uint64_t) { return owner(index) == rank; };
  std::vector<std::uint64_t> skipped;
  ckks::EvaluationKeys evk = ckks::load_evaluation_keys_file(path, ctx, max_bytes, select, &skipped);
  // Every element in file order (strictly increasing, so a merge of the two sorted lists).
  std::vector<std::uint64_t> all;
  {
    auto a = evk.galois.keys.begin();
    auto b = skipped.begin();
    while (a != evk.galois.keys.end() || b != skipped.end()) {
      if (b == skipped.end() || (a != evk.galois.keys.end() && a->first < *b)) {
        all.push_back((a++)->first);
      } else {
        all.push_back(*b++);
      }
    }
  }
  const std::size_t d = static_cast<std::size_t>(ctx.dnum()), nqp = ctx.q_count() + ctx.p_count(), n = ctx.n();
  const std::size_t poly_bytes = n * nqp * sizeof(std::uint64_t), key_bytes = 2 * d * poly_bytes;
  // A key this rank expanded, before its words are shared: the parameters' digits and limbs.
  auto check_shape = [&](std::uint64_t g, const ckks::KeySwitchKey& k) {
    if (k.b.size() != d || k.a.size() != d)
      throw FormatError("evaluation keys: Galois key " + std::to_string(g) + " has " + std::to_string(k.b.size()) +
                        " digits, the parameters " + std::to_string(d));
    for (const auto* polys : {&k.b, &k.a})
      for (const math::RnsPoly& p : *polys)
        if (p.n() != n || p.limbs() != nqp)
          throw FormatError("evaluation keys: Galois key " + std::to_string(g) + " of another shape");
  };
  const char* host = std::getenv("CU_HOST_SHARED_KEYS");
  std::span<std::uint8_t> mem;
  if (world.ranks_on_host() == world.size() && (host == nullptr || std::string(host) != "0")) {
    try {
      mem = world.host_shared_memory(all.size() * key_bytes);
    } catch (const IoError& e) {  // on every rank alike: each keeps its own copy, as below
      if (world.rank() == 0) std::fprintf(stderr, "keys: %s; each rank keeps its own copy of the keys\n", e.what());
    }
  }
  if (!mem.empty()) {
    // One host: one copy of the Galois keys in memory shared by its ranks. Each rank copies the
    // keys it expanded into their places (its private copies then go back to the heap, for the
    // inference's buffers), and every rank's keys become views of the shared copy.
    SharedKeysReport r;
    r.host_shared_bytes = mem.size();
    std::vector<std::uint64_t*> slot(all.size());
    for (std::size_t i = 0; i < all.size(); ++i) {
      slot[i] = reinterpret_cast<std::uint64_t*>(mem.data() + i * key_bytes);
      if (owner(i) != rank) continue;
      ckks::KeySwitchKey& k = evk.galois.keys.at(all[i]);
      check_shape(all[i], k);
      std::size_t at = 0;
      for (auto* polys : {&k.b, &k.a})
        for (const math::RnsPoly& p : *polys) {
          std::memcpy(slot[i] + at, p.data(), poly_bytes);
          at += n * nqp;
        }
      ++r.expanded_here;
    }
    world.barrier();  // every rank's keys are in place
    for (std::size_t i = 0; i < all.size(); ++i) {
      ckks::KeySwitchKey k;
      k.fingerprint = ctx.fingerprint();
      for (std::size_t j = 0; j < 2 * d; ++j)
        (j < d ? k.b : k.a).push_back(math::RnsPoly::view(slot[i] + j * n * nqp, n, nqp));
      if (owner(i) != rank) ++r.received;
      evk.galois.keys.insert_or_assign(all[i], std::move(k));
    }
    if (report) *report = r;
    return evk;
  }
  // Room for the keys of the other ranks, then every key's polynomials as regions of its owner.
  for (std::uint64_t g : skipped) {
    ckks::KeySwitchKey k;
    k.fingerprint = ctx.fingerprint();
    for (std::size_t j = 0; j < d; ++j) k.b.emplace_back(n, nqp);
    for (std::size_t j = 0; j < d; ++j) k.a.emplace_back(n, nqp);
    evk.galois.keys.emplace(g, std::move(k));
  }
  std::vector<std::vector<std::span<std::uint8_t>>> regions(ranks);
  SharedKeysReport r;
  for (std::size_t i = 0; i < all.size(); ++i) {
    ckks::KeySwitchKey& k = evk.galois.keys.at(all[i]);
    check_shape(all[i], k);
    for (auto* polys : {&k.b, &k.a})
      for (math::RnsPoly& p : *polys)
        regions[owner(i)].emplace_back(reinterpret_cast<std::uint8_t*>(p.data()), poly_bytes);
    if (owner(i) == rank) {
      ++r.expanded_here;
    } else {
      ++r.received;
      r.bytes_received += key_bytes;
    }
  }
  world.share_regions(regions);
  if (report) *report = r;
  return evk;
}

}  // namespace cryptounet::nn
