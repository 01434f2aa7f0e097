// `cryptounet client --volume IN -o OUT`: a NIfTI volume or DICOM series segmented on a server
// as one job. The slices are prepared here exactly as `segment-volume` prepares them (the model
// card's normalisation comes from the server), encrypted here (a throughput plan packs several
// per ciphertext), uploaded as ONE job of N ciphertexts, run by the server in order with
// per-item progress; each result is fetched as soon as the server has it, decrypted here and
// kept in the checkpoint folder (OUT.partial), so a client killed mid-volume and started again
// does not ask for the finished slices again. The mask is written with the input's geometry.
#pragma once

#include "cli/json_output.h"
#include "client/ckks_client_crypto.h"
#include "client/inference_client.h"

#include <string>

namespace cryptounet::cli {

struct ClientVolumeArgs {
  std::string input, out, probabilities, axis = "axial", slices, checkpoint;
  bool no_checkpoint = false, quiet = false;
  double threshold = 0.0;
  bool clean_mask = false;
};

/// Runs the volume through `session` (see the file comment); prints the summary on stdout: text,
/// or with `json_out` on the JSON object alone. Throws what segment_volume, the client and the
/// reader throw.
void run_client_volume(client::InferenceClient& c, client::Session& session, const client::ModelInfo& model,
                       client::CkksClientCrypto& crypto, const ClientVolumeArgs& a, JsonOutput& json_out);

}  // namespace cryptounet::cli
