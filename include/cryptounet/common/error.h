// The one exception hierarchy of CryptoUNet. Public functions of every layer throw these;
// messages name the operation and the values ("rescale: ciphertext is at level 0").
// Apps catch once at the top: the CLI prints the message and exits non-zero, the server
// answers 4xx/5xx. Inside hot loops use CU_ASSERT (debug and sanitizer builds only).
#pragma once

#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cryptounet {

/// Base of every error CryptoUNet throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The caller passed something wrong: mismatched levels or scales, bad sizes, bad options.
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

/// Input bytes or files are malformed: truncated, oversized, bad magic/version, out of range.
class FormatError : public Error {
 public:
  using Error::Error;
};

/// Parameters or keys that would be insecure, or a key that does not belong to this data.
class SecurityError : public Error {
 public:
  using Error::Error;
};

/// A valid request that this system does not support (an ONNX operator, an attribute, a shape).
class Unsupported : public Error {
 public:
  using Error::Error;
};

/// An operating-system or file-system failure (open, read, write, rename).
class IoError : public Error {
 public:
  using Error::Error;
};

/// The one spelling of a failed system call on a file: "OP 'PATH': <strerror(err)>".
[[nodiscard]] inline IoError io_error(std::string_view op, const std::string& path, int err) {
  return IoError(std::string(op) + " '" + path + "': " + std::strerror(err));
}

}  // namespace cryptounet

#ifdef CU_DEBUG
#define CU_ASSERT(cond)                                                                    \
  do {                                                                                     \
    if (!(cond))                                                                           \
      throw ::std::logic_error(std::string("assertion failed: " #cond " at ") + __FILE__ + \
                               ":" + std::to_string(__LINE__));                            \
  } while (0)
#else
#define CU_ASSERT(cond) ((void)0)
#endif
