// httplib::Server with a bound on the request line + headers. cpp-httplib 0.11.4 (Debian 12)
// reads a request line into an unbounded buffer: a client that sends bytes without a newline
// grows the server's memory at network speed (measured: 300 MB sent -> 535 MB peak RSS). This
// subclass serves each connection itself over a buffered socket Stream that refuses to hand
// more than `max_header_bytes` to httplib, or to take longer than `header_timeout`, before the
// request is routed; the pre-routing hook
// lifts the limit for the body, whose size the route handlers check. It also closes the
// connection when a refused request's body was left unread (it would be parsed as the next
// request line and hit the limit). Plain HTTP only: httplib::SSLServer keeps its own
// connection loop, so over TLS put the limit in a terminating proxy (see README_server.md).
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>

namespace cryptounet::server {

class GuardedHttpServer : public httplib::Server {
 public:
  /// max_header_bytes: request line + headers of one request; header_timeout: time from the
  /// first byte of a request to the end of its headers (slowly trickled headers are cut off).
  GuardedHttpServer(std::size_t max_header_bytes, std::chrono::milliseconds header_timeout);

  /// To be called from the pre-routing handler: the headers are in, the body may follow.
  static void end_header_phase();

 private:
  bool process_and_close_socket(socket_t sock) override;

  std::size_t max_header_bytes_;
  std::chrono::milliseconds header_timeout_;
};

}  // namespace cryptounet::server
