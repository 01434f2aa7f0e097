// httplib::Server with a bound on the request line + headers, over plain TCP or TLS.
// cpp-httplib 0.11.4 (Debian 12) reads a request line into an unbounded buffer: a client that
// sends bytes without a newline grows the server's memory at network speed (measured: 300 MB
// sent -> 535 MB peak RSS). This subclass serves each connection itself over a buffered socket
// Stream (TLS through OpenSSL when given a certificate) that refuses to hand more than
// `max_header_bytes` to httplib, or to take longer than `header_timeout`, before the request is
// routed; the pre-routing hook lifts the limit for the body, whose size the route handlers
// check. A refused request whose body was left unread ends the connection too (the body would
// be parsed as the next request line and hit the limit), and so does any answer that says
// Connection: close; ambiguous framing (two Content-Lengths, Content-Length + Transfer-Encoding)
// is refused with 400.
#pragma once

#include <httplib.h>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
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

  /// Called by the server's own pre-routing hook: the headers are in, the body may follow.
  static void end_header_phase();
  /// From a handler: close this connection after the answer (whatever the client asked).
  static void close_after_response();

  /// A pre-routing hook run after the framing guards (use this, not set_pre_routing_handler,
  /// which the guards occupy).
  using RoutingHook = std::function<HandlerResponse(const httplib::Request&, httplib::Response&)>;
  GuardedHttpServer& set_routing_hook(RoutingHook hook);

  /// Connections from one client address served at once (0: no limit). One more is answered
  /// 503 (Retry-After) and closed at once, so slow-header connections from one address cannot
  /// occupy every HTTP thread (issue 9).
  void set_max_connections_per_address(int n) { max_per_address_ = n; }

 private:
  bool process_and_close_socket(socket_t sock) override;
  /// Refuses ambiguous framing (several or bad Content-Length, Content-Length with
  /// Transfer-Encoding: 400 and close) and closes every connection whose request body was not
  /// read to its end, or whose answer says Connection: close (request smuggling, issue 9).
  void install_framing_guards();

  RoutingHook pre_routing_;
  int max_per_address_ = 0;
  std::mutex address_mutex_;
  std::map<std::string, int> connections_;
  std::size_t max_header_bytes_;
  std::chrono::milliseconds header_timeout_;
  bool tls_ = false;
  SSL_CTX* ctx_ = nullptr;
};

}  // namespace cryptounet::server
