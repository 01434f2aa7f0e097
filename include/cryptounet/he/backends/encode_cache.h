// The per-plan plaintext cache ("encode once"): the plaintexts an encrypted run encodes (masks,
// diagonal weight plaintexts, plaintext biases) depend on the model, the plan and the CKKS
// context only, never on the image, so a caller that runs one plan many times (a server
// session, a throughput batch, a volume, `evaluate` over a split) keeps one EncodeCache next to
// its graph and plan and passes it in RunOptions::encodings: every run after the first encodes
// nothing it already holds and gives the same ciphertexts, bit for bit (encoding is
// deterministic). It holds at most `budget` bytes (nominal CKKS size: level+1 limbs of N
// words); what does not fit is encoded per run as before. plan_sizes(plan).encoded_bytes states
// what a plan would keep (at most), kEncodeCacheBudgetBytes the default budget.
#pragma once

#include <any>
#include <map>
#include <mutex>

#include "cryptounet/packing/masks.h"

namespace cryptounet::nn {

/// Default budget of an EncodeCache: 512 MiB (`cryptounet plan` at 128-bit: brain64 keeps at most 432 MiB, brain128 110 MiB).
inline constexpr double kEncodeCacheBudgetBytes = 512.0 * 1048576.0;

class EncodeCache {
 public:
  /// What a cached plaintext is: a mask (shared by the layers at one level), the diagonal
  /// plaintext of one term of a linear node, or the plaintext bias of one output ciphertext.
  enum class Kind { mask, diagonal, bias };
  struct Key {
    Kind kind = Kind::mask;
    int node = -1;   // diagonal, bias: the node
    int index = 0;   // diagonal: the term; bias: the output ciphertext
    int level = 0;
    packing::MaskKey mask;  // masks only
    auto operator<=>(const Key&) const = default;
  };

  explicit EncodeCache(double budget_bytes = kEncodeCacheBudgetBytes) : budget_(budget_bytes) {}
  EncodeCache(const EncodeCache&) = delete;
  EncodeCache& operator=(const EncodeCache&) = delete;

  /// Ties the cache to one run's graph, plan and backend geometry (the executor calls it at the
  /// start of every run). Throws InvalidArgument if it already holds another plan's plaintexts.
  void bind(const void* graph, const void* plan, int slots, double default_scale);

  /// The plaintext stored under `key` at exactly `scale`, else null. Pointers stay valid until
  /// clear(); safe with concurrent runs.
  [[nodiscard]] const std::any* find(const Key& key, double scale) const;
  /// Stores `value` (of nominal size `bytes`) under `key` if the budget allows and returns it;
  /// if `key` is already held, returns that entry (null if at another scale); if over budget,
  /// returns null and leaves `value` untouched.
  const std::any* insert(const Key& key, double scale, double bytes, std::any& value);

  [[nodiscard]] double bytes() const;
  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] double budget() const { return budget_; }
  /// Drops everything and the binding (not while a run uses the cache).
  void clear();

 private:
  struct Entry {
    double scale = 0;
    std::any value;
  };
  mutable std::mutex mu_;
  double budget_ = 0;
  double bytes_ = 0;
  const void* graph_ = nullptr;
  const void* plan_ = nullptr;
  int slots_ = 0;
  double scale_ = 0;
  std::map<Key, Entry> entries_;
};

}  // namespace cryptounet::nn
