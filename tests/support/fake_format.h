// Blob format of the *fake* model service (testing and load measurement only; no cryptography).
// Keys:       "CUFAKEK1" | key_id u64 LE | filler up to the plan's exact key size
// Ciphertext: "CUFAKEC1" | key_id u64 LE | payload (the "image")
// Result:     "CUFAKER1" | key_id u64 LE | payload[i] + 1 + byte (i mod 8) of key_id (mod 256)
// The result depends on the payload and on the key id, so a client can check that it got the
// result of its own image made with its own keys. Header-only: the fake service
// (support/fake_model_service.cpp), the fake client (support/fake_client_crypto.cpp) and the
// server tests share it. scripts/load_test.py writes the same key blobs (fake_blob).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace cryptounet::server::fake {

inline constexpr std::string_view kKeysMagic = "CUFAKEK1";
inline constexpr std::string_view kCiphertextMagic = "CUFAKEC1";
inline constexpr std::string_view kResultMagic = "CUFAKER1";
inline constexpr std::size_t kHeaderBytes = 16;

inline void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

inline std::uint64_t get_u64(std::string_view in, std::size_t at) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  return v;
}

inline std::string make_blob(std::string_view magic, std::uint64_t key_id, std::string_view payload) {
  std::string out(magic);
  put_u64(out, key_id);
  out.append(payload);
  return out;
}

inline std::string make_keys(std::uint64_t key_id, std::size_t total_bytes) {
  std::string filler(total_bytes > kHeaderBytes ? total_bytes - kHeaderBytes : 0, '\0');
  for (std::size_t i = 0; i < filler.size(); ++i) filler[i] = static_cast<char>((key_id + i) & 0xff);
  return make_blob(kKeysMagic, key_id, filler);
}

inline std::string transform_payload(std::uint64_t key_id, std::string_view payload) {
  std::string out(payload);
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<char>(static_cast<unsigned char>(out[i]) + 1 +
                               ((key_id >> (8 * (i % 8))) & 0xff));
  return out;
}

inline std::string untransform_payload(std::uint64_t key_id, std::string_view payload) {
  std::string out(payload);
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<char>(static_cast<unsigned char>(out[i]) - 1 -
                               ((key_id >> (8 * (i % 8))) & 0xff));
  return out;
}

/// True if `blob` starts with `magic` and has at least a header.
inline bool has_magic(std::string_view blob, std::string_view magic) {
  return blob.size() >= kHeaderBytes && blob.substr(0, magic.size()) == magic;
}

}  // namespace cryptounet::server::fake
