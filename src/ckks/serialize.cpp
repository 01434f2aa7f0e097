#include "cryptounet/ckks/serialize.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <numeric>
#include <optional>
#include <string>
#include <sys/stat.h>

#include "cryptounet/common/error.h"
#include "cryptounet/math/csprng.h"
#include "cryptounet/math/ntt.h"
#include "cryptounet/math/sampler.h"

namespace cryptounet::ckks {
namespace {

static_assert(std::endian::native == std::endian::little, "serialisation assumes a little-endian host");

constexpr std::size_t kSeedBytes = 32;
constexpr std::size_t kMaxPrimes = 64;  // per chain (Q or P) in a Params file

// ---------------------------------------------------------------- sizes

// Bits per coefficient of the prime with QP index t (coefficients are < q < 2^bits).
unsigned coeff_bits(const Context& ctx, std::size_t t) { return static_cast<unsigned>(ctx.modulus(t).bit_count()); }

// Bytes of one limb: N coefficients of coeff_bits each, packed (N >= 2^10, so a whole number of bytes).
std::size_t limb_bytes(const Context& ctx, std::size_t t) { return ctx.n() / 8 * coeff_bits(ctx, t); }

// Bytes of a polynomial over QP indices 0..limbs-1.
std::size_t poly_bytes(const Context& ctx, std::size_t limbs) {
  std::size_t total = 0;
  for (std::size_t t = 0; t < limbs; ++t) total += limb_bytes(ctx, t);
  return total;
}

std::size_t qp_count(const Context& ctx) { return ctx.q_count() + ctx.p_count(); }

std::size_t ksk_payload(const Context& ctx, bool seeded) {
  const std::size_t d = static_cast<std::size_t>(ctx.dnum());
  const std::size_t pb = poly_bytes(ctx, qp_count(ctx));
  return 1 + d * pb + (seeded ? kSeedBytes : d * pb);
}

std::size_t ct_payload(const Context& ctx, std::size_t limbs, std::size_t size, bool seeded) {
  const std::size_t pb = poly_bytes(ctx, limbs);
  return 4 + 1 + 8 + 1 + (seeded ? pb + kSeedBytes : size * pb);
}

std::size_t galois_payload(const Context& ctx, const GaloisKeys& gk, bool seeded) {
  std::size_t total = 4;
  for (const auto& [g, k] : gk.keys) total += 8 + ksk_payload(ctx, seeded && k.seed != math::Seed{});
  return total;
}

// ---------------------------------------------------------------- writing

std::string fp_mismatch(const char* what) {
  return std::string("save: ") + what + " belongs to other parameters than the context (fingerprint mismatch)";
}

void check_fp(std::uint64_t fp, const Context& ctx, const char* what) {
  if (fp != ctx.fingerprint()) throw InvalidArgument(fp_mismatch(what));
}

// Starts a file of `payload` bytes; the writer's buffer is reserved for all of it (no reallocation,
// so nothing is copied around in memory, which matters for secret keys).
BinaryWriter start(ObjectKind kind, std::uint64_t fingerprint, std::size_t payload) {
  BinaryWriter w;
  w.reserve_more(FileHeader::kSize + payload);
  write_header(w, kind, fingerprint, payload);
  return w;
}

std::vector<std::uint8_t> finish(BinaryWriter& w, std::size_t payload) {
  if (w.size() != FileHeader::kSize + payload)
    throw std::logic_error("serialize: wrote " + std::to_string(w.size()) + " bytes, expected " +
                           std::to_string(FileHeader::kSize + payload));
  return w.take();
}

std::uint8_t* grow(BinaryWriter& w, std::size_t n) {
  auto& b = w.bytes();
  const std::size_t off = b.size();
  b.resize(off + n);
  return b.data() + off;
}

void write_poly(BinaryWriter& w, const math::RnsPoly& p, const Context& ctx, std::size_t limbs, const char* what) {
  const std::size_t n = ctx.n();
  if (p.n() != n || p.limbs() != limbs)
    throw InvalidArgument(std::string("save: ") + what + " has " + std::to_string(p.limbs()) + " limbs of " +
                          std::to_string(p.n()) + " coefficients, expected " + std::to_string(limbs) + " of " +
                          std::to_string(n));
  std::uint8_t* out = grow(w, poly_bytes(ctx, limbs));
  for (std::size_t t = 0; t < limbs; ++t) {
    const math::Modulus& q = ctx.modulus(t);
    const unsigned bits = coeff_bits(ctx, t);
    const std::uint64_t* src = p.limb(t);
    // Little-endian bit stream: coefficient i occupies bits [i*bits, (i+1)*bits) of the limb.
    unsigned __int128 acc = 0;
    unsigned have = 0;
    for (std::size_t i = 0; i < n; ++i) {
      std::uint64_t x = src[i];
      if (x >= q.value()) x = q.reduce(x);  // the same residue, fully reduced so it fits `bits`
      acc |= static_cast<unsigned __int128>(x) << have;
      have += bits;
      if (have >= 64) {
        const auto lo = static_cast<std::uint64_t>(acc);
        std::memcpy(out, &lo, 8);
        out += 8;
        acc >>= 64;
        have -= 64;
      }
    }
    for (; have > 0; have -= 8) {  // n * bits is a multiple of 8
      *out++ = static_cast<std::uint8_t>(acc);
      acc >>= 8;
    }
  }
}

std::vector<std::size_t> iota(std::size_t count) {
  std::vector<std::size_t> v(count);
  std::iota(v.begin(), v.end(), std::size_t{0});
  return v;
}

std::uint64_t ksk_domain(int j) { return kKeySwitchDomain + (static_cast<std::uint64_t>(j) << 32); }

#ifdef CU_DEBUG
bool same_poly(const math::RnsPoly& a, const math::RnsPoly& b) {
  return a.n() == b.n() && a.limbs() == b.limbs() &&
         std::memcmp(a.data(), b.data(), a.n() * a.limbs() * sizeof(std::uint64_t)) == 0;
}
#endif

void write_ksk(BinaryWriter& w, const KeySwitchKey& k, const Context& ctx, bool seeded, const char* what) {
  check_fp(k.fingerprint, ctx, what);
  const std::size_t d = static_cast<std::size_t>(ctx.dnum()), nqp = qp_count(ctx);
  if (k.b.size() != d || k.a.size() != d)
    throw InvalidArgument(std::string("save: ") + what + " has " + std::to_string(k.b.size()) + " digits, expected " +
                          std::to_string(d));
  w.u8(seeded ? 1 : 0);
  for (std::size_t j = 0; j < d; ++j) write_poly(w, k.b[j], ctx, nqp, what);
  if (seeded) {
#ifdef CU_DEBUG
    for (std::size_t j = 0; j < d; ++j)
      CU_ASSERT(same_poly(k.a[j], expand_uniform(ctx, k.seed, ksk_domain(static_cast<int>(j)), iota(nqp))));
#endif
    w.raw(k.seed);
  } else {
    for (std::size_t j = 0; j < d; ++j) write_poly(w, k.a[j], ctx, nqp, what);
  }
}

void write_galois(BinaryWriter& w, const GaloisKeys& gk, const Context& ctx, bool seeded) {
  w.u32(static_cast<std::uint32_t>(gk.keys.size()));
  for (const auto& [g, k] : gk.keys) {
    if ((g & 1) == 0 || g < 3 || g >= 2 * ctx.n())
      throw InvalidArgument("save: Galois key element " + std::to_string(g) + " is not odd in [3, 2N)");
    w.u64(g);
    write_ksk(w, k, ctx, seeded && k.seed != math::Seed{}, "Galois key");
  }
}

bool ct_seeded(const Ciphertext& ct, const SaveOptions& opt) {
  return opt.seeded && ct.seed().has_value() && ct.size() == 2;
}

void check_ct(const Ciphertext& ct, const Context& ctx) {
  if (ct.level() < 0 || ct.size() < 2 || ct.size() > 3)
    throw InvalidArgument("save: ciphertext is empty or has " + std::to_string(ct.size()) + " parts (expected 2 or 3)");
  check_fp(ct.fingerprint(), ctx, "ciphertext");
  if (ct.level() > ctx.max_level())
    throw InvalidArgument("save: ciphertext level " + std::to_string(ct.level()) + " above the chain's " +
                          std::to_string(ctx.max_level()));
  if (!std::isfinite(ct.scale()) || ct.scale() <= 0)
    throw InvalidArgument("save: ciphertext scale is not finite and positive");
}

// Precondition: check_ct(ct, ctx).
void write_ct(BinaryWriter& w, const Ciphertext& ct, const Context& ctx, const SaveOptions& opt) {
  const bool seeded = ct_seeded(ct, opt);
  const std::size_t limbs = static_cast<std::size_t>(ct.level()) + 1;
  w.u32(static_cast<std::uint32_t>(ct.level()));
  w.u8(static_cast<std::uint8_t>(ct.size()));
  w.f64(ct.scale());
  w.u8(seeded ? 1 : 0);
  write_poly(w, ct.part(0), ctx, limbs, "ciphertext");
  if (seeded) {
#ifdef CU_DEBUG
    CU_ASSERT(same_poly(ct.part(1), expand_uniform(ctx, *ct.seed(), kCiphertextDomain, iota(limbs))));
#endif
    w.raw(*ct.seed());
  } else {
    for (std::size_t i = 1; i < ct.size(); ++i) write_poly(w, ct.part(i), ctx, limbs, "ciphertext");
  }
}

// ---------------------------------------------------------------- reading

// Unpacks limb t (QP index t) of a packed polynomial from src (limb_bytes(ctx, t) bytes) into dst;
// throws FormatError for a coefficient not below its prime.
void unpack_limb(const std::string& what, const Context& ctx, std::size_t t, const std::uint8_t* src,
                 std::uint64_t* dst) {
  const std::size_t n = ctx.n();
  const std::uint64_t q = ctx.modulus(t).value();
  const unsigned bits = coeff_bits(ctx, t);
  const std::uint64_t mask = (std::uint64_t{1} << bits) - 1;  // bits <= 61
  const std::uint8_t* const end = src + limb_bytes(ctx, t);
  unsigned __int128 acc = 0;
  unsigned have = 0;
  for (std::size_t i = 0; i < n; ++i) {
    while (have < bits) {
      if (end - src >= 8) {
        std::uint64_t v;
        std::memcpy(&v, src, 8);
        src += 8;
        acc |= static_cast<unsigned __int128>(v) << have;
        have += 64;
      } else {
        acc |= static_cast<unsigned __int128>(*src++) << have;
        have += 8;
      }
    }
    const std::uint64_t x = static_cast<std::uint64_t>(acc) & mask;
    acc >>= bits;
    have -= bits;
    if (x >= q)
      throw FormatError(what + ": coefficient " + std::to_string(i) + " of limb " + std::to_string(t) + " is " +
                        std::to_string(x) + ", not below its prime " + std::to_string(q));
    dst[i] = x;
  }
  CU_ASSERT(src == end && have == 0);
}

// Byte offsets of the limbs of a packed polynomial over QP indices 0..limbs-1.
std::vector<std::size_t> limb_offsets(const Context& ctx, std::size_t limbs) {
  std::vector<std::size_t> offset(limbs + 1, 0);
  for (std::size_t t = 0; t < limbs; ++t) offset[t + 1] = offset[t] + limb_bytes(ctx, t);
  return offset;
}

math::RnsPoly read_poly(BinaryReader& r, const Context& ctx, std::size_t limbs) {
  // raw() checks the bytes are there before anything is allocated.
  const auto in = r.raw(poly_bytes(ctx, limbs));
  math::RnsPoly p(ctx.n(), limbs);
  // Limbs unpack independently (each starts on a byte boundary): spread over the pool.
  const std::vector<std::size_t> offset = limb_offsets(ctx, limbs);
  ctx.pool().parallel_for(0, limbs, [&](std::size_t t) { unpack_limb(r.what(), ctx, t, in.data() + offset[t], p.limb(t)); });
  return p;
}

template <class R>
math::Seed read_seed(R& r) {
  math::Seed s{};
  const auto in = r.raw(kSeedBytes);
  std::memcpy(s.data(), in.data(), kSeedBytes);
  return s;
}

template <class R>
bool read_flag(R& r, const char* field) {
  const std::uint8_t v = r.u8();
  if (v > 1) throw FormatError(r.what() + ": " + field + " flag is " + std::to_string(v) + ", expected 0 or 1");
  return v == 1;
}

int read_level(BinaryReader& r, const Context& ctx) {
  const std::uint32_t level = r.u32();
  if (level > static_cast<std::uint32_t>(ctx.max_level()))
    throw FormatError(r.what() + ": level " + std::to_string(level) + " is above the chain's top level " +
                      std::to_string(ctx.max_level()));
  return static_cast<int>(level);
}

// The scale drives the decoder's limb count: only [1, Q*P] is accepted (scale_in_range), so a
// hostile result cannot push decode out of bounds while the client holds the secret key.
double read_scale(BinaryReader& r, const Context& ctx, int level) {
  const double s = r.f64();
  if (!std::isfinite(s) || !(s > 0))
    throw FormatError(r.what() + ": scale " + std::to_string(s) + " is not finite and positive");
  if (!scale_in_range(ctx, level, s))
    throw FormatError(r.what() + ": scale 2^" + std::to_string(std::log2(s)) + " outside [1, 2^" +
                      std::to_string(static_cast<int>(ctx.params().log_qp())) + "] (Q*P)");
  return s;
}

// One read of the key's packed b halves (and its seed), then one pass over the pool by (half, limb):
// the seeded a halves expanded, the b halves unpacked straight into the key's limbs. Unseeded: the
// a halves are read and unpacked the same way after the b halves.
template <class R>
KeySwitchKey read_ksk(R& r, const Context& ctx) {
  const std::size_t d = static_cast<std::size_t>(ctx.dnum()), nqp = qp_count(ctx), n = ctx.n();
  const std::size_t pb = poly_bytes(ctx, nqp);
  KeySwitchKey k;
  k.fingerprint = ctx.fingerprint();
  const bool seeded = read_flag(r, "seeded");
  const std::vector<std::size_t> offset = limb_offsets(ctx, nqp);
  // raw() checks the bytes are there before anything is allocated.
  const auto in = r.raw(d * pb + (seeded ? kSeedBytes : 0));
  k.b.reserve(d);
  for (std::size_t j = 0; j < d; ++j) k.b.emplace_back(n, nqp);
  k.a.reserve(d);
  if (seeded) {
    std::memcpy(k.seed.data(), in.data() + d * pb, kSeedBytes);
    for (std::size_t j = 0; j < d; ++j) k.a.emplace_back(n, nqp);
    // Tasks [0, d*nqp): expand a_j limb t (as expand_uniform(seed, ksk_domain(j), all QP indices));
    // then [d*nqp, 2*d*nqp): unpack b_j limb t. The longer expansions first balance the tail.
    ctx.pool().parallel_for(0, 2 * d * nqp, [&](std::size_t task) {
      const std::size_t j = (task / nqp) % d, t = task % nqp;
      if (task < d * nqp) {
        math::Prng prng(k.seed, ksk_domain(static_cast<int>(j)) + t);
        math::sample_uniform(prng, ctx.modulus(t), k.a[j].limb(t), n);
      } else {
        unpack_limb(r.what(), ctx, t, in.data() + j * pb + offset[t], k.b[j].limb(t));
      }
    });
  } else {
    auto unpack_all = [&](std::span<const std::uint8_t> bytes, std::vector<math::RnsPoly>& polys) {
      ctx.pool().parallel_for(0, d * nqp, [&](std::size_t task) {
        const std::size_t j = task / nqp, t = task % nqp;
        unpack_limb(r.what(), ctx, t, bytes.data() + j * pb + offset[t], polys[j].limb(t));
      });
    };
    unpack_all(in, k.b);  // before the next read: a FileReader's span lasts until then
    const auto in_a = r.raw(d * pb);
    for (std::size_t j = 0; j < d; ++j) k.a.emplace_back(n, nqp);
    unpack_all(in_a, k.a);
  }
  return k;
}

// Reads past one key switch key (KeySelection left it out): its seeded flag and the bytes of its
// polynomials (and seed), in pieces, without unpacking or allocating it.
template <class R>
void skip_ksk(R& r, const Context& ctx) {
  const std::size_t d = static_cast<std::size_t>(ctx.dnum()), pb = poly_bytes(ctx, qp_count(ctx));
  const bool seeded = read_flag(r, "seeded");
  for (std::size_t j = 0; j < d; ++j) (void)r.raw(pb);
  if (seeded) {
    (void)r.raw(kSeedBytes);
  } else {
    for (std::size_t j = 0; j < d; ++j) (void)r.raw(pb);
  }
}

template <class R>
GaloisKeys read_galois(R& r, const Context& ctx, const KeySelection* select = nullptr,
                       std::vector<std::uint64_t>* skipped = nullptr) {
  const std::uint64_t two_n = 2 * ctx.n();
  // At most N-1 distinct odd elements in [3, 2N); each needs at least a seeded key's bytes.
  const std::size_t count = r.check_count(r.u32(), ctx.n() - 1, 8 + ksk_payload(ctx, true), "Galois key count");
  GaloisKeys gk;
  std::uint64_t prev = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint64_t g = r.u64();
    if ((g & 1) == 0 || g < 3 || g >= two_n)
      throw FormatError(r.what() + ": Galois element " + std::to_string(g) + " is not odd in [3, 2N=" +
                        std::to_string(two_n) + ")");
    if (g <= prev)
      throw FormatError(r.what() + ": Galois elements not strictly increasing (" + std::to_string(g) + " after " +
                        std::to_string(prev) + ")");
    prev = g;
    if (select != nullptr && select->galois && !select->galois(i, g)) {
      skip_ksk(r, ctx);
      if (skipped != nullptr) skipped->push_back(g);
      continue;
    }
    gk.keys.emplace(g, read_ksk(r, ctx));
  }
  return gk;
}

// The payload of an EvaluationKeys object: a relinearisation-key flag (and key), then the Galois keys.
template <class R>
EvaluationKeys read_evaluation_keys(R& r, const Context& ctx, const KeySelection* select = nullptr,
                                   std::vector<std::uint64_t>* skipped = nullptr) {
  EvaluationKeys evk;
  if (read_flag(r, "has_relin")) {
    if (select == nullptr || select->relin)
      evk.relin.key = read_ksk(r, ctx);
    else
      skip_ksk(r, ctx);
  }
  evk.galois = read_galois(r, ctx, select, skipped);
  return evk;
}

Ciphertext read_ct(BinaryReader& r, const Context& ctx) {
  const int level = read_level(r, ctx);
  const std::uint8_t size = r.u8();
  if (size != 2 && size != 3)
    throw FormatError(r.what() + ": ciphertext size " + std::to_string(size) + ", expected 2 or 3");
  const double scale = read_scale(r, ctx, level);
  const bool seeded = read_flag(r, "seeded");
  if (seeded && size != 2) throw FormatError(r.what() + ": a seeded ciphertext must have 2 parts");
  const std::size_t limbs = static_cast<std::size_t>(level) + 1;
  std::vector<math::RnsPoly> parts;
  parts.reserve(size);
  parts.push_back(read_poly(r, ctx, limbs));
  std::optional<math::Seed> seed;
  if (seeded) {
    seed = read_seed(r);
    parts.push_back(expand_uniform(ctx, *seed, kCiphertextDomain, iota(limbs)));
  } else {
    for (std::size_t i = 1; i < size; ++i) parts.push_back(read_poly(r, ctx, limbs));
  }
  Ciphertext ct(std::move(parts), scale, ctx.fingerprint());
  if (seed) ct.set_seed(*seed);
  return ct;
}

BinaryReader open_reader(std::span<const std::uint8_t> bytes, ObjectKind kind, const Context& ctx) {
  BinaryReader r(bytes, object_kind_name(kind));
  read_header(r, kind, ctx.fingerprint());
  return r;
}

// A blob that holds exactly one object of `kind`: the header checked, `read` takes the payload,
// and nothing may follow it.
template <class Read>
auto read_whole(std::span<const std::uint8_t> bytes, ObjectKind kind, const Context& ctx, Read read) {
  BinaryReader r = open_reader(bytes, kind, ctx);
  auto object = read(r);
  r.expect_end();
  return object;
}

// A small signed polynomial as NTT form over QP indices 0..limbs-1.
math::RnsPoly small_to_ntt(const Context& ctx, const std::vector<std::int64_t>& coeffs, std::size_t limbs) {
  const std::size_t n = ctx.n();
  math::RnsPoly out(n, limbs);
  for (std::size_t t = 0; t < limbs; ++t) {
    const math::Modulus& q = ctx.modulus(t);
    std::uint64_t* dst = out.limb(t);
    for (std::size_t i = 0; i < n; ++i) dst[i] = math::from_signed(coeffs[i], q);
    math::ntt_forward(dst, ctx.ntt(t));
  }
  return out;
}

template <class T>
void wipe_vector(std::vector<T>& v) {
  volatile T* p = v.data();
  for (std::size_t i = 0; i < v.size(); ++i) p[i] = T{};
}

// Wipes a vector holding secret material when the scope ends, however it ends.
template <class T>
struct WipeGuard {
  std::vector<T>& v;
  ~WipeGuard() { wipe_vector(v); }
};

}  // namespace

void wipe_bytes(std::vector<std::uint8_t>& bytes) {
  wipe_vector(bytes);
  bytes.clear();
}

// ---------------------------------------------------------------- Params

std::vector<std::uint8_t> save(const Params& params) {
  const ParamsLiteral& lit = params.literal();
  const std::size_t payload = 4 + 4 + 4 * lit.log_q.size() + 4 + 4 * lit.log_p.size() + 4 + 4 + 1 +
                              8 * (params.q().size() + params.p().size());
  BinaryWriter w = start(ObjectKind::Params, params.fingerprint(), payload);
  w.u32(static_cast<std::uint32_t>(lit.log_n));
  w.u32(static_cast<std::uint32_t>(lit.log_q.size()));
  for (int b : lit.log_q) w.i32(b);
  w.u32(static_cast<std::uint32_t>(lit.log_p.size()));
  for (int b : lit.log_p) w.i32(b);
  w.i32(lit.log_scale);
  w.i32(lit.dnum);
  w.u8(lit.security == Security::insecure_for_tests ? 1 : 0);
  for (auto q : params.q()) w.u64(q);
  for (auto p : params.p()) w.u64(p);
  return finish(w, payload);
}

Params load_params(std::span<const std::uint8_t> bytes, bool allow_insecure) {
  BinaryReader r(bytes, "parameters");
  const FileHeader h = read_header(r, ObjectKind::Params, 0);
  ParamsLiteral lit;
  const std::uint32_t log_n = r.u32();
  if (log_n > 16) throw FormatError(r.what() + ": log_n " + std::to_string(log_n) + " outside [10, 16]");
  lit.log_n = static_cast<int>(log_n);
  const std::size_t nq = r.check_count(r.u32(), kMaxPrimes, 4, "Q prime count");
  for (std::size_t i = 0; i < nq; ++i) lit.log_q.push_back(r.i32());
  const std::size_t np = r.check_count(r.u32(), kMaxPrimes, 4, "P prime count");
  for (std::size_t i = 0; i < np; ++i) lit.log_p.push_back(r.i32());
  lit.log_scale = r.i32();
  lit.dnum = r.i32();
  const bool insecure = read_flag(r, "insecure");
  lit.security = insecure ? Security::insecure_for_tests : Security::bits128;
  r.check_count(nq + np, 2 * kMaxPrimes, 8, "prime count");
  std::vector<std::uint64_t> q(nq), p(np);
  for (auto& v : q) v = r.u64();
  for (auto& v : p) v = r.u64();
  r.expect_end();
  if (insecure && !allow_insecure)
    throw SecurityError(r.what() + ": the file holds parameters marked insecure (for tests only); refused");
  Params params = [&] {
    try {
      return Params::from_literal(lit);
    } catch (const InvalidArgument& e) {
      throw FormatError(r.what() + ": invalid parameter literal: " + e.what());
    }
  }();
  if (params.q() != q || params.p() != p)
    throw FormatError(r.what() + ": stored primes differ from those the literal generates");
  if (params.fingerprint() != h.fingerprint)
    throw SecurityError(r.what() + ": header fingerprint " + std::to_string(h.fingerprint) +
                        " does not match the parameters' " + std::to_string(params.fingerprint()));
  return params;
}

// ---------------------------------------------------------------- SecretKey

std::vector<std::uint8_t> save(const SecretKey& sk, const Context& ctx) {
  check_fp(sk.fingerprint(), ctx, "secret key");
  const std::size_t n = ctx.n();
  if (sk.poly().n() != n || sk.poly().limbs() != qp_count(ctx))
    throw InvalidArgument("save: secret key has the wrong shape for the context");
  std::vector<std::uint64_t> s(sk.poly().limb(0), sk.poly().limb(0) + n);
  WipeGuard<std::uint64_t> wipe_s{s};
  math::ntt_inverse(s.data(), ctx.ntt(0));
  const std::uint64_t q0 = ctx.modulus(0).value();
  BinaryWriter w = start(ObjectKind::SecretKey, ctx.fingerprint(), n);
  WipeGuard<std::uint8_t> wipe_w{w.bytes()};  // wipes what is left in w (nothing once taken)
  std::uint8_t* out = grow(w, n);
  // Branch-free in the coefficients (their signs are the secret): masks, not tests.
  std::uint64_t bad = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t c = s[i];
    const std::uint64_t is_minus = 0 - static_cast<std::uint64_t>(c == q0 - 1);  // all ones iff c = -1
    bad |= ~is_minus & (c >> 1);                                                 // c not in {0, 1, q0-1}
    out[i] = static_cast<std::uint8_t>(c | is_minus);                            // 0, 1 or 0xFF
  }
  if (bad != 0) throw InvalidArgument("save: secret key is not ternary; cannot serialise it");
  return finish(w, n);
}

SecretKey load_secret_key(std::span<const std::uint8_t> bytes, const Context& ctx) {
  BinaryReader r = open_reader(bytes, ObjectKind::SecretKey, ctx);
  const std::size_t n = ctx.n();
  const auto in = r.raw(n);
  r.expect_end();
  std::vector<std::int64_t> s(n);
  WipeGuard<std::int64_t> wipe_s{s};
  // Branch-free in the coefficients: 0, 1 and 0xFF map to 0, 1, -1 as int8; anything else is
  // recorded in `bad` and refused after the loop.
  unsigned bad = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t c = in[i];
    bad |= static_cast<unsigned>(static_cast<std::uint8_t>(c + 1) > 2);  // c + 1 mod 256 in {0, 1, 2}
    s[i] = static_cast<std::int8_t>(c);
  }
  if (bad != 0) throw FormatError(r.what() + ": a coefficient is not in {-1, 0, 1}");
  math::RnsPoly poly = small_to_ntt(ctx, s, qp_count(ctx));
  return SecretKey::from_poly(std::move(poly), ctx.fingerprint());
}

// ---------------------------------------------------------------- PublicKey

std::vector<std::uint8_t> save(const PublicKey& pk, const Context& ctx, const SaveOptions& opt) {
  check_fp(pk.fingerprint, ctx, "public key");
  const bool seeded = opt.seeded && pk.seed != math::Seed{};
  const std::size_t nq = ctx.q_count(), pb = poly_bytes(ctx, nq);
  const std::size_t payload = 1 + pb + (seeded ? kSeedBytes : pb);
  BinaryWriter w = start(ObjectKind::PublicKey, ctx.fingerprint(), payload);
  w.u8(seeded ? 1 : 0);
  write_poly(w, pk.b, ctx, nq, "public key");
  if (seeded) {
#ifdef CU_DEBUG
    CU_ASSERT(same_poly(pk.a, expand_uniform(ctx, pk.seed, kPublicKeyDomain, iota(nq))));
#endif
    w.raw(pk.seed);
  } else {
    write_poly(w, pk.a, ctx, nq, "public key");
  }
  return finish(w, payload);
}

PublicKey load_public_key(std::span<const std::uint8_t> bytes, const Context& ctx) {
  BinaryReader r = open_reader(bytes, ObjectKind::PublicKey, ctx);
  const std::size_t nq = ctx.q_count();
  PublicKey pk;
  pk.fingerprint = ctx.fingerprint();
  const bool seeded = read_flag(r, "seeded");
  pk.b = read_poly(r, ctx, nq);
  if (seeded) {
    pk.seed = read_seed(r);
    r.expect_end();
    pk.a = expand_uniform(ctx, pk.seed, kPublicKeyDomain, iota(nq));
  } else {
    pk.a = read_poly(r, ctx, nq);
    r.expect_end();
  }
  return pk;
}

// ---------------------------------------------------------------- evaluation keys

std::vector<std::uint8_t> save(const RelinKey& rk, const Context& ctx, const SaveOptions& opt) {
  if (rk.empty()) throw InvalidArgument("save: empty relinearisation key");
  const bool seeded = opt.seeded && rk.key.seed != math::Seed{};
  const std::size_t payload = ksk_payload(ctx, seeded);
  BinaryWriter w = start(ObjectKind::RelinKey, ctx.fingerprint(), payload);
  write_ksk(w, rk.key, ctx, seeded, "relinearisation key");
  return finish(w, payload);
}

RelinKey load_relin_key(std::span<const std::uint8_t> bytes, const Context& ctx) {
  return read_whole(bytes, ObjectKind::RelinKey, ctx, [&](BinaryReader& r) { return RelinKey{read_ksk(r, ctx)}; });
}

std::vector<std::uint8_t> save(const GaloisKeys& gk, const Context& ctx, const SaveOptions& opt) {
  const std::size_t payload = galois_payload(ctx, gk, opt.seeded);
  BinaryWriter w = start(ObjectKind::GaloisKeys, ctx.fingerprint(), payload);
  write_galois(w, gk, ctx, opt.seeded);
  return finish(w, payload);
}

GaloisKeys load_galois_keys(std::span<const std::uint8_t> bytes, const Context& ctx) {
  return read_whole(bytes, ObjectKind::GaloisKeys, ctx, [&](BinaryReader& r) { return read_galois(r, ctx); });
}

std::vector<std::uint8_t> save(const EvaluationKeys& evk, const Context& ctx, const SaveOptions& opt) {
  const bool has_relin = !evk.relin.empty();
  const bool relin_seeded = opt.seeded && evk.relin.key.seed != math::Seed{};
  const std::size_t payload = 1 + (has_relin ? ksk_payload(ctx, relin_seeded) : 0) +
                              galois_payload(ctx, evk.galois, opt.seeded);
  BinaryWriter w = start(ObjectKind::EvaluationKeys, ctx.fingerprint(), payload);
  w.u8(has_relin ? 1 : 0);
  if (has_relin) write_ksk(w, evk.relin.key, ctx, relin_seeded, "relinearisation key");
  write_galois(w, evk.galois, ctx, opt.seeded);
  return finish(w, payload);
}

EvaluationKeys load_evaluation_keys(std::span<const std::uint8_t> bytes, const Context& ctx) {
  return read_whole(bytes, ObjectKind::EvaluationKeys, ctx,
                    [&](BinaryReader& r) { return read_evaluation_keys(r, ctx); });
}

// ---------------------------------------------------------------- Plaintext

std::vector<std::uint8_t> save(const Plaintext& pt, const Context& ctx) {
  if (pt.level() < 0) throw InvalidArgument("save: empty plaintext");
  check_fp(pt.fingerprint(), ctx, "plaintext");
  if (pt.level() > ctx.max_level()) throw InvalidArgument("save: plaintext level above the chain's top level");
  if (!std::isfinite(pt.scale()) || pt.scale() <= 0)
    throw InvalidArgument("save: plaintext scale is not finite and positive");
  const std::size_t limbs = static_cast<std::size_t>(pt.level()) + 1;
  const std::size_t payload = 4 + 8 + poly_bytes(ctx, limbs);
  BinaryWriter w = start(ObjectKind::Plaintext, ctx.fingerprint(), payload);
  w.u32(static_cast<std::uint32_t>(pt.level()));
  w.f64(pt.scale());
  write_poly(w, pt.poly(), ctx, limbs, "plaintext");
  return finish(w, payload);
}

Plaintext load_plaintext(std::span<const std::uint8_t> bytes, const Context& ctx) {
  return read_whole(bytes, ObjectKind::Plaintext, ctx, [&](BinaryReader& r) {
    const int level = read_level(r, ctx);
    const double scale = read_scale(r, ctx, level);
    math::RnsPoly poly = read_poly(r, ctx, static_cast<std::size_t>(level) + 1);
    return Plaintext(std::move(poly), scale, ctx.fingerprint());
  });
}

// ---------------------------------------------------------------- Ciphertext(s)

std::vector<std::uint8_t> save(const Ciphertext& ct, const Context& ctx, const SaveOptions& opt) {
  check_ct(ct, ctx);
  const std::size_t payload = ct_payload(ctx, static_cast<std::size_t>(ct.level()) + 1, ct.size(), ct_seeded(ct, opt));
  BinaryWriter w = start(ObjectKind::Ciphertext, ctx.fingerprint(), payload);
  write_ct(w, ct, ctx, opt);
  return finish(w, payload);
}

Ciphertext load_ciphertext(std::span<const std::uint8_t> bytes, const Context& ctx) {
  return read_whole(bytes, ObjectKind::Ciphertext, ctx, [&](BinaryReader& r) { return read_ct(r, ctx); });
}

std::vector<std::uint8_t> save_ciphertext_set(std::span<const Ciphertext> cts, const Context& ctx,
                                              const SaveOptions& opt) {
  if (cts.size() > kMaxCiphertextSetCount)
    throw InvalidArgument("save: ciphertext set of " + std::to_string(cts.size()) + " exceeds the limit " +
                          std::to_string(kMaxCiphertextSetCount));
  std::size_t payload = 4;
  for (const auto& ct : cts) {
    check_ct(ct, ctx);
    payload += ct_payload(ctx, static_cast<std::size_t>(ct.level()) + 1, ct.size(), ct_seeded(ct, opt));
  }
  BinaryWriter w = start(ObjectKind::CiphertextSet, ctx.fingerprint(), payload);
  w.u32(static_cast<std::uint32_t>(cts.size()));
  for (const auto& ct : cts) write_ct(w, ct, ctx, opt);
  return finish(w, payload);
}

std::vector<Ciphertext> load_ciphertext_set(std::span<const std::uint8_t> bytes, const Context& ctx) {
  return read_whole(bytes, ObjectKind::CiphertextSet, ctx, [&](BinaryReader& r) {
    const std::size_t count =
        r.check_count(r.u32(), kMaxCiphertextSetCount, ct_payload(ctx, 1, 2, true), "ciphertext count");
    std::vector<Ciphertext> out;
    out.reserve(count);
    for (std::size_t i = 0; i < count; ++i) out.push_back(read_ct(r, ctx));
    return out;
  });
}

// ---------------------------------------------------------------- sizes

std::size_t ciphertext_file_size(const Context& ctx, int level, std::size_t size, bool seeded) {
  if (level < 0 || level > ctx.max_level() || size < 2 || size > 3 || (seeded && size != 2))
    throw InvalidArgument("ciphertext_file_size: level " + std::to_string(level) + ", size " + std::to_string(size) +
                          (seeded ? " (seeded)" : "") + " is not a valid ciphertext shape");
  return FileHeader::kSize + ct_payload(ctx, static_cast<std::size_t>(level) + 1, size, seeded);
}

std::size_t ciphertext_set_file_size(const Context& ctx, std::span<const int> levels, bool seeded) {
  std::size_t total = FileHeader::kSize + 4;
  for (int l : levels) total += ciphertext_file_size(ctx, l, 2, seeded) - FileHeader::kSize;
  return total;
}

std::size_t evaluation_keys_file_size(const Context& ctx, bool has_relin, std::size_t galois_count, bool seeded) {
  return FileHeader::kSize + 1 + (has_relin ? ksk_payload(ctx, seeded) : 0) + 4 +
         galois_count * (8 + ksk_payload(ctx, seeded));
}

// ---------------------------------------------------------------- files

void save_secret_key_file(const std::string& path, const SecretKey& sk, const Context& ctx) {
  std::vector<std::uint8_t> bytes = save(sk, ctx);
  try {
    write_file_atomic(path, bytes);  // its temporary file is created 0600 (mkstemp)
    if (::chmod(path.c_str(), S_IRUSR | S_IWUSR) != 0)
      throw IoError("save_secret_key_file: cannot set mode 0600 on '" + path + "'");
  } catch (...) {
    wipe_bytes(bytes);
    throw;
  }
  wipe_bytes(bytes);
}

SecretKey load_secret_key_file(const std::string& path, const Context& ctx) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw IoError("load_secret_key_file: cannot stat '" + path + "'");
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    throw SecurityError("load_secret_key_file: '" + path +
                        "' is accessible by group or others; a secret key file must be mode 0600");
  std::vector<std::uint8_t> bytes = read_file(path, FileHeader::kSize + ctx.n());
  try {
    SecretKey sk = load_secret_key(bytes, ctx);
    wipe_bytes(bytes);
    return sk;
  } catch (...) {
    wipe_bytes(bytes);
    throw;
  }
}

void save_file(const std::string& path, std::span<const std::uint8_t> bytes) { write_file_atomic(path, bytes); }

Params load_params_file(const std::string& path, bool allow_insecure) {
  return load_params(read_file(path, 1 << 20), allow_insecure);
}

PublicKey load_public_key_file(const std::string& path, const Context& ctx, std::uint64_t max_bytes) {
  return load_public_key(read_file(path, max_bytes), ctx);
}

// Read in pieces (FileReader) rather than whole: no second copy of a file of hundreds of MiB in
// memory, and no zero-filled buffer. The same checks and messages as load_evaluation_keys.
EvaluationKeys load_evaluation_keys_file(const std::string& path, const Context& ctx, std::uint64_t max_bytes) {
  FileReader r(path, max_bytes, object_kind_name(ObjectKind::EvaluationKeys));
  read_header(r, ObjectKind::EvaluationKeys, ctx.fingerprint());
  EvaluationKeys evk = read_evaluation_keys(r, ctx);
  r.expect_end();
  return evk;
}

EvaluationKeys load_evaluation_keys_file(const std::string& path, const Context& ctx, std::uint64_t max_bytes,
                                         const KeySelection& select, std::vector<std::uint64_t>* skipped) {
  FileReader r(path, max_bytes, object_kind_name(ObjectKind::EvaluationKeys));
  read_header(r, ObjectKind::EvaluationKeys, ctx.fingerprint());
  EvaluationKeys evk = read_evaluation_keys(r, ctx, &select, skipped);
  r.expect_end();
  return evk;
}

Ciphertext load_ciphertext_file(const std::string& path, const Context& ctx, std::uint64_t max_bytes) {
  return load_ciphertext(read_file(path, max_bytes), ctx);
}

std::vector<Ciphertext> load_ciphertext_set_file(const std::string& path, const Context& ctx,
                                                 std::uint64_t max_bytes) {
  return load_ciphertext_set(read_file(path, max_bytes), ctx);
}

}  // namespace cryptounet::ckks
