// What the inference server needs from a model: a name, the plan the client makes its keys for,
// the byte sizes of the evaluation-key and ciphertext blobs, validators for both, and the run.
// The server knows no key or ciphertext format: it stores and moves opaque blobs, checks their
// sizes, asks the service to validate them before storing anything, and calls run() from its
// worker threads. It never asks for, accepts or stores a secret key: a session is created from
// the *public* evaluation keys only (relinearisation + Galois keys), and validate_eval_keys()
// is where a real service rejects anything else.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace cryptounet::server {

/// Size rule of one blob kind. exact: the body must be exactly max_bytes long.
struct BlobSize {
  std::uint64_t max_bytes = 0;
  bool exact = false;
};

/// Reports progress from inside run(): fraction in [0,1] of the whole job and the name of the
/// stage (e.g. the layer) now running. The server times stages by name for its metrics. It may
/// throw (the server uses that to cancel a job at shutdown): run() must call it from the thread
/// that called run() (not from inside a parallel loop) and let the exception propagate.
using ProgressCallback = std::function<void(double fraction, std::string_view stage)>;

/// The evaluation keys of the session a job belongs to, as run() gets them. A session's keys never
/// change while it exists and a session id is never reused, so `session` names the same bytes on
/// every job of the session; `blob()` reads those bytes from the server's storage (hundreds of MB).
/// A service that caches deserialised keys can recognise a session it has seen and skip both the
/// read and the hashing of the blob.
struct SessionKeys {
  std::string session;
  /// What validate_eval_keys() returned for these keys when this server process created the
  /// session (empty for a session from before a restart): a service that knows it skips the read.
  std::string identity;
  std::function<std::string()> blob;
};

/// One model served by the server. All methods are called concurrently from several threads.
class ModelService {
 public:
  virtual ~ModelService() = default;

  /// URL-safe name ([A-Za-z0-9._-]{1,64}), unique within one server.
  [[nodiscard]] virtual std::string name() const = 0;
  /// JSON text the client needs to make its keys and encrypt: CKKS parameters, input layout,
  /// the rotation list. Served verbatim (as a JSON value) by GET /v1/models.
  [[nodiscard]] virtual std::string plan_json() const = 0;
  [[nodiscard]] virtual BlobSize eval_keys_size() const = 0;
  [[nodiscard]] virtual BlobSize ciphertext_size() const = 0;

  /// The model card's "normalisation" text (how a slice becomes the model's input; "" if the card
  /// says nothing): a client segmenting a volume prepares slices with it.
  [[nodiscard]] virtual std::string normalisation() const { return {}; }

  /// Throw cryptounet::FormatError (or SecurityError) with a clear message if `bytes` are not
  /// evaluation keys for this model's plan. Must never crash on any input. Returns a short identity
  /// of the keys (or ""), which the server hands back in SessionKeys::identity with the session's jobs.
  virtual std::string validate_eval_keys(std::string_view bytes) const = 0;
  /// Same for one encrypted image.
  virtual void validate_ciphertext(std::string_view bytes) const = 0;

  /// Runs the model on one encrypted image with the session's evaluation keys; returns the
  /// encrypted result. A service whose key deserialisation is costly should cache deserialised
  /// keys (by the blob's digest, and the session's digest by its id). Errors: cryptounet::Error
  /// subclasses (reported to the client as the job's error), anything else is reported as an
  /// internal error.
  virtual std::string run(const SessionKeys& keys, std::string_view ciphertext,
                          const ProgressCallback& progress) const = 0;
};

}  // namespace cryptounet::server
