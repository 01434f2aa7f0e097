// httplib::Server with a bound on the request line + headers, over plain TCP or TLS.
// cpp-httplib 0.11.4 (Debian 12) reads a request line into an unbounded buffer: a client that
// sends bytes without a newline grows the server's memory at network speed (measured: 300 MB
// sent -> 535 MB peak RSS). This subclass serves each connection itself over a buffered socket
// Stream (TLS through OpenSSL when given a certificate) that refuses to hand more than
// `max_header_bytes` to httplib, or to take longer than `header_timeout`, before the request is
// routed; the pre-routing hook lifts the limit for the body, whose size the route handlers
// check. A refused request whose body was left unread ends the connection too (the body would
// be parsed as the next request line and hit the limit).
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

typedef struct ssl_ctx_st SSL_CTX;

namespace cryptounet::server {

class GuardedHttpServer : public httplib::Server {
 public:
  /// Plain HTTP. max_header_bytes: request line + headers of one request; header_timeout: time
  /// from the first byte of a request to the end of its headers.
  GuardedHttpServer(std::size_t max_header_bytes, std::chrono::milliseconds header_timeout);
  /// HTTPS (TLS 1.2+) with a PEM certificate chain and private key. is_valid() is false if
  /// they cannot be loaded or do not match.
  GuardedHttpServer(std::size_t max_header_bytes, std::chrono::milliseconds header_timeout,
                    const std::string& cert_file, const std::string& key_file);
  ~GuardedHttpServer() override;

  bool is_valid() const override;

  /// To be called from the pre-routing handler: the headers are in, the body may follow.
  static void end_header_phase();

 private:
  bool process_and_close_socket(socket_t sock) override;

  std::size_t max_header_bytes_;
  std::chrono::milliseconds header_timeout_;
  bool tls_ = false;
  SSL_CTX* ctx_ = nullptr;
};

}  // namespace cryptounet::server
