#include "server/model_loader.h"

#include "cryptounet/common/error.h"

namespace cryptounet::server {

std::vector<std::shared_ptr<const ModelService>> load_model_services(
    const std::vector<std::string>& model_paths) {
  // TODO(issue 4/5): for each path, import the ONNX model, run the planner for its CKKS
  // parameters and rotation set, and wrap the encrypted executor in a ModelService:
  //   name()               file stem (sanitised to [A-Za-z0-9._-])
  //   plan_json()          the planner's plan as the client's keygen reads it
  //   eval_keys_size()     exact size of the serialised relin + Galois keys for that plan
  //   ciphertext_size()    exact size of one serialised input ciphertext (set)
  //   validate_*()         the ckks deserialisers (magic, version, parameter fingerprint,
  //                        bounds) — they must reject a secret key blob
  //   run()                deserialise, run the encrypted executor, report progress per layer
  //                        (the layer name as stage gives per-layer times in /v1/metrics)
  //                        and serialise the output ciphertexts.
  std::string list;
  for (const auto& p : model_paths) list += (list.empty() ? "" : ", ") + p;
  throw Unsupported("serve: cannot load model(s) " + list +
                    ": the encrypted executor is not wired into the server yet (issue 4/5); "
                    "only the test service (--fake-service) is available");
}

}  // namespace cryptounet::server
