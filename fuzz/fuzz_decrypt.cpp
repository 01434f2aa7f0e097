// libFuzzer target: what the client does with a result from an untrusted server while it holds
// the secret key: read the ciphertext, decrypt it, decode it. Malformed input must end in
// FormatError or SecurityError at the reader; whatever the reader accepts must decrypt and decode
// without any exception, crash or sanitizer report, to finite values. Run with fuzz/decrypt.dict
// (tiny, huge, NaN and subnormal doubles, extreme levels): scripts/run-fuzz.sh passes it.
#include <cmath>
#include <cstdlib>
#include <memory>
#include <optional>

#include "cryptounet/ckks/decryptor.h"
#include "cryptounet/ckks/encoder.h"
#include "cryptounet/ckks/keygen.h"
#include "cryptounet/ckks/serialize.h"
#include "cryptounet/common/error.h"
#include "fuzz_context.h"

namespace {
struct Client {
  std::shared_ptr<const cryptounet::ckks::Context> ctx{&cryptounet::fuzz::context(),
                                                       [](const cryptounet::ckks::Context*) {}};
  cryptounet::ckks::Decryptor dec{ctx, cryptounet::ckks::KeyGenerator(ctx).secret_key()};
  cryptounet::ckks::Encoder enc{ctx};
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Client client;
  const auto bytes = cryptounet::fuzz::with_true_length(data, size);
  std::optional<cryptounet::ckks::Ciphertext> ct;
  try {
    ct = cryptounet::ckks::load_ciphertext(std::span<const std::uint8_t>(bytes), *client.ctx);
  } catch (const cryptounet::FormatError&) {
    return 0;
  } catch (const cryptounet::SecurityError&) {
    return 0;
  }
  for (const auto& z : client.enc.decode(client.dec.decrypt(*ct)))
    if (!std::isfinite(z.real()) || !std::isfinite(z.imag())) std::abort();  // a finding
  return 0;
}
