#include "cryptounet/workflow/split_infer_wire.h"

#include <cmath>
#include <cstring>

#include "cryptounet/common/error.h"

namespace cryptounet::nn {
namespace {

struct Header {
  std::uint32_t index, step, order, level, parts;
  double scale;
};
constexpr std::size_t kHeaderBytes = 5 * 4 + 8;

// Bytes per residue word of limb t: the fewest that hold q_t - 1 (5 for a 40-bit prime).
std::size_t word_bytes(const ckks::Context& ctx, std::size_t t) {
  const std::uint64_t q = ctx.modulus(t).value();
  std::size_t b = 1;
  while (b < 8 && (q - 1) >> (8 * b)) ++b;
  return b;
}

void put(std::uint8_t*& p, const void* src, std::size_t n) {
  std::memcpy(p, src, n);
  p += n;
}

}  // namespace

std::uint64_t wire_bytes(const ckks::Ciphertext& ct, const ckks::Context& ctx) {
  std::uint64_t bytes = kHeaderBytes;
  for (std::size_t t = 0; t < static_cast<std::size_t>(ct.level() + 1); ++t)
    bytes += ct.size() * ctx.n() * word_bytes(ctx, t);
  return bytes;
}

void pack_parcels(const std::vector<CtParcel>& parcels, int rank, int ranks, const ckks::Context& ctx,
                  distributed::ExchangeBuffer& buf, std::vector<std::uint64_t>& counts) {
  const auto R = static_cast<std::size_t>(ranks);
  counts.assign(R, 0);
  std::vector<std::uint32_t> how_many(R, 0);
  for (const CtParcel& p : parcels) {
    if (p.peer < 0 || p.peer >= ranks || p.peer == rank)
      throw InvalidArgument("split run: a ciphertext for process " + std::to_string(p.peer));
    if (p.ct.level() < 0 || p.ct.size() < 2 || p.ct.size() > 3)
      throw InvalidArgument("split run: an empty ciphertext to send");
    counts[static_cast<std::size_t>(p.peer)] += wire_bytes(p.ct, ctx);
    ++how_many[static_cast<std::size_t>(p.peer)];
  }
  std::vector<std::uint64_t> at(R, 0);
  std::uint64_t total = 0;
  for (std::size_t r = 0; r < R; ++r) {
    if (how_many[r]) counts[r] += 4;
    at[r] = total;
    total += counts[r];
  }
  buf.reserve(total);
  for (std::size_t r = 0; r < R; ++r)
    if (how_many[r]) {
      std::memcpy(buf.data() + at[r], &how_many[r], 4);
      at[r] += 4;
    }
  const std::size_t n = ctx.n();
  for (const CtParcel& p : parcels) {
    std::uint8_t* w = buf.data() + at[static_cast<std::size_t>(p.peer)];
    const Header h{static_cast<std::uint32_t>(p.index), static_cast<std::uint32_t>(p.step),
                   static_cast<std::uint32_t>(p.order), static_cast<std::uint32_t>(p.ct.level()),
                   static_cast<std::uint32_t>(p.ct.size()), p.ct.scale()};
    put(w, &h.index, 4);
    put(w, &h.step, 4);
    put(w, &h.order, 4);
    put(w, &h.level, 4);
    put(w, &h.parts, 4);
    put(w, &h.scale, 8);
    const std::size_t limbs = static_cast<std::size_t>(p.ct.level()) + 1;
    for (std::size_t k = 0; k < p.ct.size(); ++k)
      for (std::size_t t = 0; t < limbs; ++t) {
        const math::Modulus& q = ctx.modulus(t);
        const std::uint64_t* src = p.ct.part(k).limb(t);
        const std::size_t b = word_bytes(ctx, t);
        // 8-byte stores whose top 8 - b bytes the next words overwrite; the last 8 words of the
        // limb store b bytes each (nothing past the limb is written). n >= 8.
        const std::size_t bulk = n - 8;
        for (std::size_t i = 0; i < bulk; ++i) {
          std::uint64_t word = src[i];
          if (word >= q.value()) word = q.reduce(word);  // the same residue, fully reduced
          std::memcpy(w, &word, 8);
          w += b;
        }
        for (std::size_t i = bulk; i < n; ++i) {
          std::uint64_t word = src[i];
          if (word >= q.value()) word = q.reduce(word);
          std::memcpy(w, &word, b);
          w += b;
        }
      }
    at[static_cast<std::size_t>(p.peer)] = static_cast<std::uint64_t>(w - buf.data());
  }
}

std::vector<CtParcel> unpack_parcels(std::span<const std::uint8_t> bytes, int from, const ckks::Context& ctx,
                                     const std::string& what) {
  std::vector<CtParcel> out;
  if (bytes.empty()) return out;
  std::size_t off = 0;
  auto take = [&](void* dst, std::size_t len) {
    if (bytes.size() - off < len) throw FormatError(what + ": truncated");
    std::memcpy(dst, bytes.data() + off, len);
    off += len;
  };
  std::uint32_t count = 0;
  take(&count, 4);
  const std::size_t n = ctx.n();
  if (count > bytes.size() / kHeaderBytes) throw FormatError(what + ": " + std::to_string(count) + " ciphertexts in " +
                                                             std::to_string(bytes.size()) + " bytes");
  for (std::uint32_t c = 0; c < count; ++c) {
    Header h{};
    take(&h.index, 4);
    take(&h.step, 4);
    take(&h.order, 4);
    take(&h.level, 4);
    take(&h.parts, 4);
    take(&h.scale, 8);
    if (h.level > static_cast<std::uint32_t>(ctx.max_level()))
      throw FormatError(what + ": ciphertext level " + std::to_string(h.level) + " above the chain's " +
                        std::to_string(ctx.max_level()));
    if (h.parts != 2 && h.parts != 3) throw FormatError(what + ": a ciphertext of " + std::to_string(h.parts) + " parts");
    if (!std::isfinite(h.scale) || h.scale <= 0) throw FormatError(what + ": ciphertext scale is not finite and positive");
    const std::size_t limbs = h.level + 1;
    std::size_t part_bytes = 0;
    for (std::size_t t = 0; t < limbs; ++t) part_bytes += n * word_bytes(ctx, t);
    if ((bytes.size() - off) / part_bytes < h.parts) throw FormatError(what + ": truncated");
    std::vector<math::RnsPoly> parts;
    for (std::uint32_t k = 0; k < h.parts; ++k) {
      math::RnsPoly poly(n, limbs);
      for (std::size_t t = 0; t < limbs; ++t) {
        const std::uint64_t q = ctx.modulus(t).value();
        const std::size_t b = word_bytes(ctx, t);
        const std::uint64_t mask = b == 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * b)) - 1;
        const std::uint8_t* src = bytes.data() + off;
        std::uint64_t* x = poly.limb(t);
        std::uint64_t bad = 0;
        const std::size_t bulk = n - 8;  // 8-byte loads inside the limb: 8 more words follow
        for (std::size_t i = 0; i < bulk; ++i) {
          std::uint64_t word = 0;
          std::memcpy(&word, src + i * b, 8);
          word &= mask;
          x[i] = word;
          bad |= static_cast<std::uint64_t>(word >= q);
        }
        for (std::size_t i = bulk; i < n; ++i) {
          std::uint64_t word = 0;
          std::memcpy(&word, src + i * b, b);
          x[i] = word;
          bad |= static_cast<std::uint64_t>(word >= q);
        }
        if (bad) throw FormatError(what + ": a residue word not below its modulus q_" + std::to_string(t));
        off += n * b;
      }
      parts.push_back(std::move(poly));
    }
    CtParcel p;
    p.peer = from;
    p.index = static_cast<int>(h.index);
    p.step = static_cast<int>(h.step);
    p.order = static_cast<int>(h.order);
    p.ct = ckks::Ciphertext(std::move(parts), h.scale, ctx.fingerprint());
    out.push_back(std::move(p));
  }
  if (off != bytes.size()) throw FormatError(what + ": trailing bytes");
  return out;
}

}  // namespace cryptounet::nn
