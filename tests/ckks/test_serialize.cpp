// Serialisation: round trips of every object (values and keys still work after loading), seeded
// sizes, and rejection of every kind of malformed input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <sys/stat.h>
#include <unistd.h>

#include "cryptounet/ckks/serialize.h"
#include "test_util.h"

namespace cryptounet::ckks::test {
namespace {
namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;
using CVec = std::vector<std::complex<double>>;

// A small insecure set with two digits: N = 2^10, Q = 60 + 2x40, P = 60 + 50 (widths 8, 5, 5 | 8, 7).
ParamsLiteral small_literal() {
  return {.log_n = 10, .log_q = {60, 40, 40}, .log_p = {60, 50}, .dnum = 2, .security = Security::insecure_for_tests};
}

struct Fixture {
  std::shared_ptr<const Context> ctx = Context::create(Params::from_literal(small_literal()), ExecOptions{1});
  KeyGenerator keygen{ctx};
  SecretKey sk = keygen.secret_key();
  PublicKey pk = keygen.public_key(sk);
  EvaluationKeys evk{keygen.relin_key(sk), keygen.galois_keys(sk, std::vector<int>{1, -3}, true)};
  Encoder encoder{ctx};
  Encryptor enc_sk{ctx, sk};
  Encryptor enc_pk{ctx, pk};
  Decryptor dec{ctx, sk};

  [[nodiscard]] double scale() const { return ctx->params().default_scale(); }
  [[nodiscard]] std::size_t slots() const { return ctx->params().slots(); }
  [[nodiscard]] Ciphertext encrypt_sk(const CVec& v, int level) const {
    return enc_sk.encrypt(encoder.encode(v, level, scale()));
  }
  [[nodiscard]] CVec decrypt(const Ciphertext& ct) const { return encoder.decode(dec.decrypt(ct)); }
};

const Fixture& fx() {
  static Fixture f;
  return f;
}

// load_evaluation_keys_file reads in pieces (FileReader), not through load_evaluation_keys: its
// samples write the bytes to a file first (plain write, no fsync: thousands of truncations).
EvaluationKeys load_evk_via_file(std::span<const std::uint8_t> b, const Context& c) {
  static const std::string path =
      (fs::temp_directory_path() / ("cu_serialize_evk_" + std::to_string(::getpid()) + ".keys")).string();
  std::FILE* out = std::fopen(path.c_str(), "wb");
  if (!out || (!b.empty() && std::fwrite(b.data(), 1, b.size(), out) != b.size()) || std::fclose(out) != 0)
    throw std::runtime_error("test: cannot write " + path);
  return load_evaluation_keys_file(path, c);
}

bool same(const math::RnsPoly& a, const math::RnsPoly& b) {
  return a.n() == b.n() && a.limbs() == b.limbs() &&
         std::memcmp(a.data(), b.data(), a.n() * a.limbs() * sizeof(std::uint64_t)) == 0;
}

bool same(const KeySwitchKey& a, const KeySwitchKey& b) {
  if (a.b.size() != b.b.size() || a.a.size() != b.a.size() || a.fingerprint != b.fingerprint) return false;
  for (std::size_t j = 0; j < a.b.size(); ++j)
    if (!same(a.b[j], b.b[j]) || !same(a.a[j], b.a[j])) return false;
  return true;
}

void set_u64(Bytes& b, std::size_t off, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) b[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
}
void set_u32(Bytes& b, std::size_t off, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = static_cast<std::uint8_t>(v >> (8 * i));
}
// Writes `bits` bits of v at bit offset `at` of a little-endian bit stream.
void set_bits(Bytes& b, std::size_t at, unsigned bits, std::uint64_t v) {
  for (unsigned k = 0; k < bits; ++k, ++at) {
    const auto bit = static_cast<std::uint8_t>(1u << (at % 8));
    if ((v >> k) & 1) b[at / 8] |= bit; else b[at / 8] &= static_cast<std::uint8_t>(~bit);
  }
}
// Rewrites the header's payload length to match the buffer (so the payload parser sees the damage).
void fix_length(Bytes& b) { set_u64(b, 24, b.size() - FileHeader::kSize); }
constexpr std::size_t P = FileHeader::kSize;  // payload offset

// ---------------------------------------------------------------- round trips

TEST(Serialize, ParamsRoundTrip) {
  const Params& p = fx().ctx->params();
  const Bytes b = save(p);
  const Params q = load_params(b, /*allow_insecure=*/true);
  EXPECT_EQ(q.fingerprint(), p.fingerprint());
  EXPECT_EQ(q.q(), p.q());
  EXPECT_EQ(q.p(), p.p());
  EXPECT_EQ(q.dnum(), p.dnum());
  EXPECT_THROW((void)load_params(b), SecurityError);  // insecure sets need the caller's consent
  const Params p1 = presets::P1();
  const Params p1b = load_params(save(p1));
  EXPECT_EQ(p1b.fingerprint(), p1.fingerprint());
  EXPECT_EQ(p1b.security(), Security::bits128);
}

TEST(Serialize, SecretKeyRoundTripAndFile) {
  const auto& f = fx();
  Bytes b = save(f.sk, *f.ctx);
  EXPECT_EQ(b.size(), P + f.ctx->n());
  const SecretKey sk2 = load_secret_key(b, *f.ctx);
  EXPECT_TRUE(same(sk2.poly(), f.sk.poly()));
  wipe_bytes(b);
  EXPECT_TRUE(b.empty());
  // Decrypting with the loaded key works.
  const auto v = random_complex(f.slots(), 1);
  const Decryptor dec2(f.ctx, sk2);
  EXPECT_GE(precision_stats(v, f.encoder.decode(dec2.decrypt(f.encrypt_sk(v, 2)))).min_bits, 20);

  const fs::path dir = fs::temp_directory_path() / ("cu_serialize_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "secret.key").string();
  save_secret_key_file(path, f.sk, *f.ctx);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(same(load_secret_key_file(path, *f.ctx).poly(), f.sk.poly()));
  ::chmod(path.c_str(), 0644);
  EXPECT_THROW((void)load_secret_key_file(path, *f.ctx), SecurityError);
  fs::remove_all(dir);
}

TEST(Serialize, PublicKeyRoundTripSeededAndFull) {
  const auto& f = fx();
  for (bool seeded : {true, false}) {
    const Bytes b = save(f.pk, *f.ctx, {.seeded = seeded});
    const PublicKey pk2 = load_public_key(b, *f.ctx);
    EXPECT_TRUE(same(pk2.b, f.pk.b)) << seeded;
    EXPECT_TRUE(same(pk2.a, f.pk.a)) << seeded;
    const Encryptor enc(f.ctx, pk2);
    const auto v = random_complex(f.slots(), 2);
    EXPECT_GE(precision_stats(v, f.decrypt(enc.encrypt(f.encoder.encode(v, 2, f.scale())))).min_bits, 20);
  }
}

TEST(Serialize, EvaluationKeysStillWork) {
  const auto& f = fx();
  for (bool seeded : {true, false}) {
    const Bytes b = save(f.evk, *f.ctx, {.seeded = seeded});
    EXPECT_EQ(b.size(), evaluation_keys_file_size(*f.ctx, true, f.evk.galois.keys.size(), seeded));
    const EvaluationKeys evk2 = load_evaluation_keys(b, *f.ctx);
    // The file reader (in pieces, key halves expanded and unpacked over the pool) gives the same keys.
    const auto ctx2 = Context::create(f.ctx->params(), ExecOptions{2});
    const EvaluationKeys evk3 = load_evk_via_file(b, *ctx2);
    EXPECT_TRUE(same(evk2.relin.key, f.evk.relin.key));
    EXPECT_TRUE(same(evk3.relin.key, f.evk.relin.key));
    ASSERT_EQ(evk2.galois.keys.size(), f.evk.galois.keys.size());
    ASSERT_EQ(evk3.galois.keys.size(), f.evk.galois.keys.size());
    for (const auto& [g, k] : f.evk.galois.keys) {
      ASSERT_NE(evk2.galois.find(g), nullptr);
      EXPECT_TRUE(same(*evk2.galois.find(g), k)) << g;
      ASSERT_NE(evk3.galois.find(g), nullptr);
      EXPECT_TRUE(same(*evk3.galois.find(g), k)) << g;
    }
    // Relinearise, rotate and conjugate with the loaded keys only.
    const Evaluator ev(f.ctx, &evk2);
    const auto a = random_complex(f.slots(), 3), c = random_complex(f.slots(), 4);
    const Ciphertext ca = f.encrypt_sk(a, 2), cc = f.encrypt_sk(c, 2);
    CVec prod(a.size()), conj(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) prod[i] = a[i] * c[i], conj[i] = std::conj(a[i]);
    EXPECT_GE(precision_stats(prod, f.decrypt(ev.rescale(ev.mul_relin(ca, cc)))).min_bits, 20);
    EXPECT_GE(precision_stats(rotate_left(a, 1), f.decrypt(ev.rotate(ca, 1))).min_bits, 20);
    EXPECT_GE(precision_stats(rotate_left(a, -3), f.decrypt(ev.rotate(ca, -3))).min_bits, 20);
    EXPECT_GE(precision_stats(conj, f.decrypt(ev.conjugate(ca))).min_bits, 20);
  }
  // The separate relinearisation and Galois files.
  const RelinKey rk = load_relin_key(save(f.evk.relin, *f.ctx), *f.ctx);
  EXPECT_TRUE(same(rk.key, f.evk.relin.key));
  const GaloisKeys gk = load_galois_keys(save(f.evk.galois, *f.ctx, {.seeded = false}), *f.ctx);
  EXPECT_EQ(gk.keys.size(), f.evk.galois.keys.size());
  // Keys without a relinearisation key.
  EvaluationKeys only_galois;
  only_galois.galois = load_galois_keys(save(f.evk.galois, *f.ctx), *f.ctx);
  EXPECT_TRUE(load_evaluation_keys(save(only_galois, *f.ctx), *f.ctx).relin.empty());
}

TEST(Serialize, PlaintextRoundTrip) {
  const auto& f = fx();
  const Plaintext pt = f.encoder.encode(random_complex(f.slots(), 5), 1, f.scale());
  const Plaintext pt2 = load_plaintext(save(pt, *f.ctx), *f.ctx);
  EXPECT_EQ(pt2.level(), 1);
  EXPECT_EQ(pt2.scale(), pt.scale());
  EXPECT_TRUE(same(pt2.poly(), pt.poly()));
  // Extreme coefficients survive the bit packing: q - 1, 0, 1 and q / 2 in every limb.
  Plaintext ext(math::RnsPoly::zeros(f.ctx->n(), 3), 3.5, f.ctx->fingerprint());
  for (std::size_t t = 0; t < 3; ++t) {
    const std::uint64_t q = f.ctx->modulus(t).value();
    const std::uint64_t pattern[4] = {q - 1, 0, 1, q / 2};
    for (std::size_t i = 0; i < f.ctx->n(); ++i) ext.poly().limb(t)[i] = pattern[(i + t) % 4];
  }
  const Plaintext ext2 = load_plaintext(save(ext, *f.ctx), *f.ctx);
  EXPECT_TRUE(same(ext2.poly(), ext.poly()));
  EXPECT_EQ(ext2.scale(), 3.5);
}

TEST(Serialize, CiphertextRoundTripSeededAndSizes) {
  const auto& f = fx();
  const auto v = random_complex(f.slots(), 6);
  const Ciphertext ct = f.encrypt_sk(v, 2);
  ASSERT_TRUE(ct.seed().has_value());
  const Bytes seeded = save(ct, *f.ctx);
  const Bytes full = save(ct, *f.ctx, {.seeded = false});
  EXPECT_EQ(seeded.size(), ciphertext_file_size(*f.ctx, 2, 2, true));
  EXPECT_EQ(full.size(), ciphertext_file_size(*f.ctx, 2, 2, false));
  const double ratio = static_cast<double>(seeded.size()) / static_cast<double>(full.size());
  EXPECT_GT(ratio, 0.49);
  EXPECT_LT(ratio, 0.52);
  for (const Bytes* b : {&seeded, &full}) {
    const Ciphertext c2 = load_ciphertext(*b, *f.ctx);
    EXPECT_EQ(c2.level(), 2);
    EXPECT_EQ(c2.scale(), ct.scale());
    EXPECT_TRUE(same(c2.part(0), ct.part(0)));
    EXPECT_TRUE(same(c2.part(1), ct.part(1)));
    EXPECT_GE(precision_stats(v, f.decrypt(c2)).min_bits, 20);
  }
  // A loaded seeded ciphertext keeps its seed: saving it again gives the same bytes.
  EXPECT_EQ(save(load_ciphertext(seeded, *f.ctx), *f.ctx), seeded);
  // Public-key and computed ciphertexts have no seed and are stored in full.
  const Ciphertext cp = f.enc_pk.encrypt(f.encoder.encode(v, 1, f.scale()));
  EXPECT_EQ(save(cp, *f.ctx).size(), ciphertext_file_size(*f.ctx, 1, 2, false));
  // Coefficients are bit-packed at bits(q) bits (60 for q0, 40 or 41 for the scale primes).
  std::size_t bits = 0;
  for (std::size_t t = 0; t < 3; ++t) bits += static_cast<std::size_t>(f.ctx->modulus(t).bit_count());
  EXPECT_LE(bits, 60u + 41u + 41u);
  EXPECT_EQ(full.size(), P + 14 + 2 * f.ctx->n() * bits / 8);
}

TEST(Serialize, SizeThreeCiphertextAndSet) {
  const auto& f = fx();
  const Evaluator ev(f.ctx);
  const auto a = random_complex(f.slots(), 7), c = random_complex(f.slots(), 8);
  const Ciphertext prod = ev.mul(f.encrypt_sk(a, 2), f.encrypt_sk(c, 2));
  ASSERT_EQ(prod.size(), 3u);
  const Ciphertext p2 = load_ciphertext(save(prod, *f.ctx), *f.ctx);
  ASSERT_EQ(p2.size(), 3u);
  CVec want(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) want[i] = a[i] * c[i];
  EXPECT_GE(precision_stats(want, f.decrypt(ev.rescale(p2))).min_bits, 20);

  std::vector<Ciphertext> set;
  set.push_back(f.encrypt_sk(a, 2));
  set.push_back(f.enc_pk.encrypt(f.encoder.encode(c, 0, f.scale())));
  set.push_back(f.encrypt_sk(c, 1));
  const Bytes b = save_ciphertext_set(set, *f.ctx);
  const std::vector<int> levels = {2, 0, 1};
  EXPECT_LT(b.size(), ciphertext_set_file_size(*f.ctx, levels, false));
  const auto back = load_ciphertext_set(b, *f.ctx);
  ASSERT_EQ(back.size(), 3u);
  EXPECT_GE(precision_stats(a, f.decrypt(back[0])).min_bits, 20);
  EXPECT_GE(precision_stats(c, f.decrypt(back[1])).min_bits, 20);
  EXPECT_EQ(back[1].level(), 0);
  EXPECT_GE(precision_stats(c, f.decrypt(back[2])).min_bits, 20);
  EXPECT_TRUE(load_ciphertext_set(save_ciphertext_set({}, *f.ctx), *f.ctx).empty());
}

TEST(Serialize, SeededKeysAreAboutHalf) {
  const auto& f = fx();
  const double relin = static_cast<double>(save(f.evk.relin, *f.ctx).size()) /
                       static_cast<double>(save(f.evk.relin, *f.ctx, {.seeded = false}).size());
  const double galois = static_cast<double>(save(f.evk.galois, *f.ctx).size()) /
                        static_cast<double>(save(f.evk.galois, *f.ctx, {.seeded = false}).size());
  const double pk = static_cast<double>(save(f.pk, *f.ctx).size()) /
                    static_cast<double>(save(f.pk, *f.ctx, {.seeded = false}).size());
  for (double r : {relin, galois, pk}) {
    EXPECT_GT(r, 0.49);
    EXPECT_LT(r, 0.51);
  }
}

TEST(Serialize, WritersRefuseOtherParameters) {
  const auto& f = fx();
  const auto other = Context::create(presets::insecure_test(10, 2), ExecOptions{1});
  const Ciphertext ct = f.encrypt_sk(random_complex(f.slots(), 9), 1);
  EXPECT_THROW((void)save(ct, *other), InvalidArgument);
  EXPECT_THROW((void)save(f.sk, *other), InvalidArgument);
  EXPECT_THROW((void)save(f.evk, *other), InvalidArgument);
  EXPECT_THROW((void)save(Ciphertext(), *f.ctx), InvalidArgument);
  EXPECT_THROW((void)save(RelinKey{}, *f.ctx), InvalidArgument);
}

// ---------------------------------------------------------------- malformed input

// Every object of the small set, serialised, with its loader.
struct Sample {
  const char* name;
  Bytes bytes;
  std::function<void(std::span<const std::uint8_t>)> load;
};

std::vector<Sample> samples() {
  const auto& f = fx();
  const Context& c = *f.ctx;
  const auto v = random_complex(f.slots(), 10);
  GaloisKeys one;
  one.keys.emplace(f.evk.galois.keys.begin()->first, f.evk.galois.keys.begin()->second);
  EvaluationKeys evk_small{f.evk.relin, {}};
  std::vector<Ciphertext> set;
  set.push_back(f.encrypt_sk(v, 0));
  set.push_back(f.enc_pk.encrypt(f.encoder.encode(v, 0, f.scale())));
  std::vector<Sample> s;
  s.push_back({"params", save(c.params()), [](auto b) { (void)load_params(b, true); }});
  s.push_back({"secret key", save(f.sk, c), [&c](auto b) { (void)load_secret_key(b, c); }});
  s.push_back({"public key", save(f.pk, c), [&c](auto b) { (void)load_public_key(b, c); }});
  s.push_back({"relin key", save(f.evk.relin, c), [&c](auto b) { (void)load_relin_key(b, c); }});
  s.push_back({"galois keys", save(one, c), [&c](auto b) { (void)load_galois_keys(b, c); }});
  s.push_back({"evaluation keys", save(evk_small, c), [&c](auto b) { (void)load_evaluation_keys(b, c); }});
  s.push_back({"evaluation keys file", save(evk_small, c), [&c](auto b) { (void)load_evk_via_file(b, c); }});
  s.push_back({"evaluation keys file, unseeded", save(evk_small, c, {.seeded = false}),
               [&c](auto b) { (void)load_evk_via_file(b, c); }});
  s.push_back({"plaintext", save(f.encoder.encode(v, 0, f.scale()), c), [&c](auto b) { (void)load_plaintext(b, c); }});
  s.push_back({"ciphertext seeded", save(set[0], c), [&c](auto b) { (void)load_ciphertext(b, c); }});
  s.push_back({"ciphertext full", save(set[1], c), [&c](auto b) { (void)load_ciphertext(b, c); }});
  s.push_back({"ciphertext set", save_ciphertext_set(set, c), [&c](auto b) { (void)load_ciphertext_set(b, c); }});
  return s;
}

// Loading must throw FormatError or SecurityError (never crash or throw anything else).
::testing::AssertionResult rejects(const Sample& s, std::span<const std::uint8_t> b) {
  try {
    s.load(b);
  } catch (const FormatError&) {
    return ::testing::AssertionSuccess();
  } catch (const SecurityError&) {
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << s.name << ": unexpected exception " << e.what();
  }
  return ::testing::AssertionFailure() << s.name << ": accepted " << b.size() << " bytes";
}

TEST(SerializeMalformed, SamplesLoad) {
  for (const auto& s : samples()) EXPECT_NO_THROW(s.load(s.bytes)) << s.name;
}

TEST(SerializeMalformed, EveryTruncation) {
  for (const auto& s : samples()) {
    // Every length of files up to 16 KiB (ciphertexts, plaintexts, secret key, params); for the
    // larger key files every length of the first 4 KiB, then every 61st and the last 64.
    const std::size_t size = s.bytes.size();
    // The samples read from a file (one file write per length; the byte-level cases are the
    // in-memory sample's): the first 32 lengths, every 997th and the last 8.
    const bool via_file = std::string(s.name).find("file") != std::string::npos;
    auto tried = [size, via_file](std::size_t len) {
      if (via_file) return len <= 32 || len % 997 == 0 || len + 8 >= size;
      return size <= 16384 || len <= 4096 || len % 61 == 0 || len + 64 >= size;
    };
    // Plain truncation (the header's length disagrees).
    for (std::size_t len = 0; len < size; ++len)
      if (tried(len)) {
        ASSERT_TRUE(rejects(s, std::span(s.bytes).first(len))) << "length " << len;
      }
    // Truncation with the header's length rewritten, so the payload parser meets the end of input.
    Bytes b = s.bytes;
    for (std::size_t len = P; len < size; ++len) {
      if (!tried(len)) continue;
      set_u64(b, 24, len - P);
      ASSERT_TRUE(rejects(s, std::span(b).first(len))) << "payload length " << len - P;
    }
  }
}

TEST(SerializeMalformed, TrailingAndOversized) {
  for (const auto& s : samples()) {
    Bytes b = s.bytes;
    b.push_back(0);
    EXPECT_TRUE(rejects(s, b)) << "trailing byte, header unchanged";
    fix_length(b);
    EXPECT_TRUE(rejects(s, b)) << "trailing byte, header says so";
    b.resize(s.bytes.size() + 4096, 0xAB);
    fix_length(b);
    EXPECT_TRUE(rejects(s, b)) << "oversized";
  }
}

TEST(SerializeMalformed, EveryHeaderByteFlipped) {
  for (const auto& s : samples()) {
    for (std::size_t i = 0; i < P; ++i) {
      for (std::uint8_t mask : {0x01, 0x80, 0xFF}) {
        Bytes b = s.bytes;
        b[i] ^= mask;
        EXPECT_TRUE(rejects(s, b)) << "byte " << i << " ^ " << int(mask);
      }
    }
  }
  const auto s = samples().front();
  Bytes b = s.bytes;
  b[16] ^= 1;  // fingerprint
  EXPECT_THROW(s.load(b), SecurityError);
}

TEST(SerializeMalformed, WrongKind) {
  const auto all = samples();
  for (const auto& reader : all)
    for (const auto& data : all) {
      if (std::memcmp(reader.bytes.data() + 10, data.bytes.data() + 10, 2) == 0) continue;  // same kind
      try {
        reader.load(data.bytes);
        ADD_FAILURE() << reader.name << " accepted a " << data.name;
      } catch (const FormatError& e) {
        EXPECT_NE(std::string(e.what()).find("wrong kind of file"), std::string::npos) << e.what();
      }
    }
}

TEST(SerializeMalformed, OtherParameters) {
  const auto& f = fx();
  // Same N, different primes: the fingerprint differs.
  const auto other = Context::create(presets::insecure_test(10, 2), ExecOptions{1});
  const Ciphertext ct = f.encrypt_sk(random_complex(f.slots(), 11), 0);
  EXPECT_THROW((void)load_ciphertext(save(ct, *f.ctx), *other), SecurityError);
  EXPECT_THROW((void)load_secret_key(save(f.sk, *f.ctx), *other), SecurityError);
  EXPECT_THROW((void)load_evaluation_keys(save(f.evk, *f.ctx), *other), SecurityError);
  EXPECT_THROW((void)load_public_key(save(f.pk, *f.ctx), *other), SecurityError);
  // A params file whose stored primes or fingerprint do not match its literal.
  Bytes p = save(f.ctx->params());
  Bytes q = p;
  q[q.size() - 1] ^= 0x01;  // last special prime
  EXPECT_THROW((void)load_params(q, true), FormatError);
  q = p;
  q[P] = 17;  // log_n 17
  EXPECT_THROW((void)load_params(q, true), FormatError);
  q = p;
  set_u32(q, P + 4, 0xFFFFFFFF);  // absurd Q prime count
  EXPECT_THROW((void)load_params(q, true), FormatError);
  q = p;
  set_u32(q, P + 8, 70);  // log_q[0] = 70: from_literal refuses, reported as a format error
  EXPECT_THROW((void)load_params(q, true), FormatError);
}

TEST(SerializeMalformed, CoefficientAtOrAboveItsPrime) {
  const auto& f = fx();
  const Ciphertext ct = f.enc_pk.encrypt(f.encoder.encode(random_complex(f.slots(), 12), 1, f.scale()));
  const Bytes good = save(ct, *f.ctx);
  const std::size_t poly0 = (P + 14) * 8;  // bit offset of part 0, limb 0 (60-bit prime q0)
  const unsigned b0 = static_cast<unsigned>(f.ctx->modulus(0).bit_count());
  // Coefficient 3 of limb 0 := q0, then 2^60 - 1.
  Bytes b = good;
  set_bits(b, poly0 + 3 * b0, b0, f.ctx->params().q()[0]);
  EXPECT_THROW((void)load_ciphertext(b, *f.ctx), FormatError);
  set_bits(b, poly0 + 3 * b0, b0, ~std::uint64_t{0});
  EXPECT_THROW((void)load_ciphertext(b, *f.ctx), FormatError);
  // Limb 1 (a 40-bit scale prime): last coefficient of the second part := all ones >= q1.
  b = good;
  const unsigned b1 = static_cast<unsigned>(f.ctx->modulus(1).bit_count());
  set_bits(b, b.size() * 8 - b1, b1, ~std::uint64_t{0});
  EXPECT_THROW((void)load_ciphertext(b, *f.ctx), FormatError);
  // q1 exactly, at the first coefficient of limb 1 of part 0.
  b = good;
  set_bits(b, poly0 + f.ctx->n() * b0, b1, f.ctx->params().q()[1]);
  EXPECT_THROW((void)load_ciphertext(b, *f.ctx), FormatError);
  b = good;
  set_bits(b, poly0 + f.ctx->n() * b0, b1, f.ctx->params().q()[1] - 1);
  EXPECT_NO_THROW((void)load_ciphertext(b, *f.ctx));
  // q - 1 is fine.
  b = good;
  set_bits(b, poly0, b0, f.ctx->params().q()[0] - 1);
  EXPECT_NO_THROW((void)load_ciphertext(b, *f.ctx));
}

TEST(SerializeMalformed, BadFields) {
  const auto& f = fx();
  const Context& c = *f.ctx;
  const Bytes ct = save(f.encrypt_sk(random_complex(f.slots(), 13), 1), c);  // seeded, level 1
  auto expect_format = [&](Bytes b, const char* what) {
    EXPECT_THROW((void)load_ciphertext(b, c), FormatError) << what;
  };
  Bytes b = ct;
  set_u32(b, P, 3);  // level above the chain (max 2)
  expect_format(b, "level 3");
  set_u32(b, P, 0xFFFFFFFF);
  expect_format(b, "level 2^32-1");
  b = ct;
  set_u32(b, P, 2);  // a legal level that does not match the bytes present
  expect_format(b, "level 2 with level-1 data");
  for (std::uint8_t size : {0, 1, 4, 255}) {
    b = ct;
    b[P + 4] = size;
    expect_format(b, "size");
  }
  b = ct;
  b[P + 4] = 3;  // seeded with 3 parts
  expect_format(b, "seeded size 3");
  for (double s : {0.0, -1.0, std::nan(""), double(INFINITY), -double(INFINITY)}) {
    b = ct;
    std::memcpy(b.data() + P + 5, &s, 8);
    expect_format(b, "scale");
  }
  b = ct;
  b[P + 13] = 2;  // seeded flag
  expect_format(b, "flag");

  // Ciphertext set with an absurd count.
  Bytes set = save_ciphertext_set(std::vector<Ciphertext>{f.encrypt_sk(random_complex(f.slots(), 14), 0)}, c);
  set_u32(set, P, 0xFFFFFFFF);
  EXPECT_THROW((void)load_ciphertext_set(set, c), FormatError);
  set_u32(set, P, 2);
  EXPECT_THROW((void)load_ciphertext_set(set, c), FormatError);

  // Galois keys: absurd count, even, too large, identity, duplicate / unsorted elements.
  const Bytes gk = save(f.evk.galois, c);
  ASSERT_GE(f.evk.galois.keys.size(), 2u);
  b = gk;
  set_u32(b, P, 0xFFFFFFFF);
  EXPECT_THROW((void)load_galois_keys(b, c), FormatError);
  set_u32(b, P, static_cast<std::uint32_t>(c.n()));
  EXPECT_THROW((void)load_galois_keys(b, c), FormatError);
  for (std::uint64_t g : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{4}, 2 * c.n() + 1, ~std::uint64_t{0}}) {
    b = gk;
    set_u64(b, P + 4, g);
    EXPECT_THROW((void)load_galois_keys(b, c), FormatError) << "element " << g;
  }
  const std::size_t key_bytes = (gk.size() - P - 4) / f.evk.galois.keys.size();
  b = gk;
  std::memcpy(b.data() + P + 4 + key_bytes, b.data() + P + 4, 8);  // second element := first
  EXPECT_THROW((void)load_galois_keys(b, c), FormatError);

  // Secret key coefficient outside {-1, 0, 1}.
  Bytes sk = save(f.sk, c);
  sk[P + 5] = 2;
  EXPECT_THROW((void)load_secret_key(sk, c), FormatError);
  wipe_bytes(sk);

  // Evaluation keys: has_relin flag 7.
  Bytes ek = save(f.evk, c);
  ek[P] = 7;
  EXPECT_THROW((void)load_evaluation_keys(ek, c), FormatError);
}

TEST(SerializeMalformed, FileReadersCapSize) {
  const auto& f = fx();
  const fs::path dir = fs::temp_directory_path() / ("cu_serialize_cap_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "ct.bin").string();
  const Bytes b = save(f.encrypt_sk(random_complex(f.slots(), 15), 2), *f.ctx);
  save_file(path, b);
  EXPECT_NO_THROW((void)load_ciphertext_file(path, *f.ctx));
  EXPECT_THROW((void)load_ciphertext_file(path, *f.ctx, b.size() - 1), FormatError);
  EXPECT_THROW((void)load_ciphertext_file((dir / "missing").string(), *f.ctx), IoError);
  fs::remove_all(dir);
}

// Issue 9, item 2: a hostile result with a tiny (or huge, NaN, subnormal) scale once passed the
// reader and made decode pick 0 limbs and read q_basis(-1) out of bounds while holding the secret
// key. The reader now refuses scales outside [1, Q*P], decode refuses them too, and q_basis is
// bounds-checked.
TEST(SerializeMalformed, HostileScaleIsRefusedBeforeDecode) {
  const auto& f = fx();
  const Bytes good = save(f.encrypt_sk(random_complex(f.slots(), 11), 2), *f.ctx);
  const double hostile[] = {0x1p-60, 0x1p-1074, 0x1p-1022, 0.5, 1e-300, 0x1p1000, 1e308,
                            std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()};
  for (double s : hostile) {
    Bytes b = good;
    std::memcpy(b.data() + FileHeader::kSize + 4 + 1, &s, 8);  // level (u32), size (u8), scale (f64)
    EXPECT_THROW((void)load_ciphertext(b, *f.ctx), FormatError) << "scale " << s;
    // The same scale set in memory: decode refuses it with a clear error instead of crashing.
    Plaintext pt = f.dec.decrypt(load_ciphertext(good, *f.ctx));
    pt.set_scale(s);
    EXPECT_THROW((void)f.encoder.decode(pt), InvalidArgument) << "scale " << s;
  }
  // Plaintext files carry a scale too.
  Bytes pb = save(f.encoder.encode(random_complex(f.slots(), 12), 1, f.scale()), *f.ctx);
  const double tiny = 0x1p-60;
  std::memcpy(pb.data() + FileHeader::kSize + 4, &tiny, 8);  // level (u32), scale (f64)
  EXPECT_THROW((void)load_plaintext(pb, *f.ctx), FormatError);
  // Scale 1 (the smallest accepted) still decodes, to finite values.
  Plaintext one = f.dec.decrypt(load_ciphertext(good, *f.ctx));
  one.set_scale(1.0);
  for (const auto& z : f.encoder.decode(one)) ASSERT_TRUE(std::isfinite(z.real()) && std::isfinite(z.imag()));
  EXPECT_THROW((void)f.ctx->q_basis(-1), InvalidArgument);
  EXPECT_THROW((void)f.ctx->q_basis(f.ctx->max_level() + 1), InvalidArgument);
  EXPECT_NO_THROW((void)f.ctx->q_basis(f.ctx->max_level()));
}

}  // namespace
}  // namespace cryptounet::ckks::test
