#include "server/guarded_http_server.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cryptounet::server {
namespace {

int poll_one(int fd, short events, time_t sec, time_t usec) {
  pollfd p{fd, events, 0};
  const int ms = static_cast<int>(sec * 1000 + usec / 1000);
  int r;
  do {
    r = ::poll(&p, 1, ms);
  } while (r < 0 && errno == EINTR);
  return r > 0 && (p.revents & (events | POLLHUP | POLLERR)) ? 1 : 0;
}

void address_of(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  const int r = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len)
                     : ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (r != 0) return;
  char buf[INET6_ADDRSTRLEN] = {0};
  if (addr.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    port = ntohs(a->sin6_port);
  }
  ip = buf;
}

/// A buffered socket stream (httplib reads request lines byte by byte) with a byte budget for
/// the header phase of each request.
class GuardedStream final : public httplib::Stream {
 public:
  GuardedStream(int fd, SSL* ssl, time_t rs, time_t ru, time_t ws, time_t wu,
                std::size_t header_budget, std::chrono::milliseconds header_timeout)
      : fd_(fd), ssl_(ssl), rs_(rs), ru_(ru), ws_(ws), wu_(wu), header_budget_(header_budget),
        header_timeout_(header_timeout) {}

  void begin_request() {
    in_headers_ = true;
    close_ = false;
    header_used_ = 0;
    header_deadline_ = std::chrono::steady_clock::now() + header_timeout_;
  }
  void end_headers() {
    in_headers_ = false;
    body_read_ = 0;
  }
  /// Bytes handed to httplib since the headers ended (the body, as far as it was read).
  [[nodiscard]] std::uint64_t body_read() const { return body_read_; }
  void close_after_response() { close_ = true; }
  [[nodiscard]] bool closing() const { return close_; }
  [[nodiscard]] bool has_buffered() const {
    return pos_ < len_ || (ssl_ && SSL_pending(ssl_) > 0);
  }
  [[nodiscard]] bool header_limit_hit() const { return limit_hit_; }

  bool is_readable() const override { return has_buffered() || poll_one(fd_, POLLIN, rs_, ru_); }

  bool is_writable() const override {
    if (!poll_one(fd_, POLLOUT, ws_, wu_)) return false;
    // like httplib: a peer that has closed (EOF pending) is not written to
    if (!has_buffered() && poll_one(fd_, POLLIN, 0, 0)) {
      char c;
      const ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) return false;
    }
    return true;
  }

  ssize_t read(char* ptr, size_t size) override {
    if (in_headers_) {
      if (header_used_ >= header_budget_ || std::chrono::steady_clock::now() > header_deadline_) {
        limit_hit_ = true;
        return -1;
      }
      size = std::min(size, header_budget_ - header_used_);
    }
    if (pos_ >= len_) {
      if (!is_readable()) return -1;
      ssize_t n;
      if (ssl_) {
        n = SSL_read(ssl_, buf_, sizeof buf_);
        if (n <= 0) return SSL_get_error(ssl_, static_cast<int>(n)) == SSL_ERROR_ZERO_RETURN ? 0 : -1;
      } else {
        do {
          n = ::recv(fd_, buf_, sizeof buf_, 0);
        } while (n < 0 && errno == EINTR);
        if (n <= 0) return n;
      }
      pos_ = 0;
      len_ = static_cast<std::size_t>(n);
    }
    const std::size_t n = std::min(size, len_ - pos_);
    std::memcpy(ptr, buf_ + pos_, n);
    pos_ += n;
    if (in_headers_) header_used_ += n;
    else body_read_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    if (ssl_) {
      const int n = SSL_write(ssl_, ptr, static_cast<int>(std::min<size_t>(size, 1 << 30)));
      return n > 0 ? n : -1;
    }
    ssize_t n;
    do {
      n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    address_of(fd_, true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    address_of(fd_, false, ip, port);
  }
  socket_t socket() const override { return fd_; }

 private:
  int fd_;
  SSL* ssl_;
  time_t rs_, ru_, ws_, wu_;
  std::size_t header_budget_;
  std::chrono::milliseconds header_timeout_;
  std::chrono::steady_clock::time_point header_deadline_;
  std::size_t header_used_ = 0;
  bool in_headers_ = true;
  bool limit_hit_ = false;
  bool close_ = false;
  std::uint64_t body_read_ = 0;
  char buf_[4096];
  std::size_t pos_ = 0, len_ = 0;
};

thread_local GuardedStream* current_stream = nullptr;

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() <= 19 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

/// Request framing that two parsers could read differently (request smuggling): several
/// Content-Length headers, one that is not a plain number, or Content-Length with
/// Transfer-Encoding. Returns why, or "" if the framing is unambiguous.
std::string ambiguous_framing(const httplib::Request& req) {
  const std::size_t lengths = req.get_header_value_count("Content-Length");
  if (lengths > 1) return "several Content-Length headers";
  if (lengths == 1 && !all_digits(req.get_header_value("Content-Length")))
    return "bad Content-Length '" + req.get_header_value("Content-Length").substr(0, 32) + "'";
  if (req.get_header_value_count("Transfer-Encoding") > 0 && lengths > 0)
    return "both Content-Length and Transfer-Encoding";
  if (req.get_header_value_count("Transfer-Encoding") > 1) return "several Transfer-Encoding headers";
  return {};
}

}  // namespace

GuardedHttpServer::GuardedHttpServer(std::size_t max_header_bytes,
                                     std::chrono::milliseconds header_timeout)
    : max_header_bytes_(max_header_bytes), header_timeout_(header_timeout) {
  install_framing_guards();
}

GuardedHttpServer::GuardedHttpServer(std::size_t max_header_bytes,
                                     std::chrono::milliseconds header_timeout,
                                     const std::string& cert_file, const std::string& key_file)
    : max_header_bytes_(max_header_bytes), header_timeout_(header_timeout), tls_(true) {
  install_framing_guards();
  ctx_ = SSL_CTX_new(TLS_server_method());
  if (!ctx_) return;
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx_, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(ctx_, SSL_MODE_AUTO_RETRY);
  if (SSL_CTX_use_certificate_chain_file(ctx_, cert_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx_, key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx_) != 1) {
    ERR_clear_error();
    SSL_CTX_free(ctx_);
    ctx_ = nullptr;
  }
}

GuardedHttpServer::~GuardedHttpServer() {
  if (ctx_) SSL_CTX_free(ctx_);
}

bool GuardedHttpServer::is_valid() const { return !tls_ || ctx_ != nullptr; }

void GuardedHttpServer::end_header_phase() {
  if (current_stream) current_stream->end_headers();
}

void GuardedHttpServer::close_after_response() {
  if (current_stream) current_stream->close_after_response();
}

void GuardedHttpServer::install_framing_guards() {
  set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    end_header_phase();  // headers are in: the body is the handler's (no header budget for it)
    if (const std::string why = ambiguous_framing(req); !why.empty()) {
      close_after_response();
      res.status = 400;
      res.set_content("{\"error\":\"ambiguous request framing: " + why + "\"}", "application/json");
      return HandlerResponse::Handled;
    }
    return pre_routing_ ? pre_routing_(req, res) : HandlerResponse::Unhandled;
  });
  // After every answer: a connection whose request body was not read to its end (a refusal
  // before the body, a GET with a body, chunked bodies) is closed; its unread bytes must never be
  // parsed as the next request. So is one whose answer says Connection: close, and one refused as
  // malformed (400, 408, 413, 414, 431: httplib answers a bad request line and reads on).
  set_post_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    const bool chunked = req.get_header_value_count("Transfer-Encoding") > 0;
    const std::string cl = req.get_header_value("Content-Length");
    const std::uint64_t length = all_digits(cl) ? std::stoull(cl) : 0;
    const std::uint64_t read = current_stream ? current_stream->body_read() : 0;
    // httplib may have read the body itself (routes without a content reader): then it is in req.body.
    const bool consumed = !chunked && (length == 0 || read >= length || req.body.size() == length);
    const bool malformed = res.status == 400 || res.status == 408 || res.status == 413 || res.status == 414 ||
                           res.status == 431;
    if (!consumed || malformed || res.get_header_value("Connection") == "close") {
      close_after_response();
      if (res.get_header_value("Connection") != "close") res.set_header("Connection", "close");
    }
  });
}

GuardedHttpServer& GuardedHttpServer::set_routing_hook(RoutingHook hook) {
  pre_routing_ = std::move(hook);
  return *this;
}

bool GuardedHttpServer::process_and_close_socket(socket_t sock) {
  // Per-address connection limit, checked before TLS or any read: a refusal costs microseconds.
  std::string peer;
  if (max_per_address_ > 0) {
    int port = 0;
    address_of(sock, true, peer, port);
    bool over = false;
    {
      std::lock_guard lock(address_mutex_);
      int& n = connections_[peer];
      over = n >= max_per_address_;
      if (!over) ++n;
      else if (n == 0) connections_.erase(peer);
    }
    if (over) {
      if (!tls_) {
        static const std::string kBody = "{\"error\":\"too many connections from your address; retry later\"}";
        static const std::string kBusy =
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n"
            "Content-Type: application/json\r\nContent-Length: " + std::to_string(kBody.size()) + "\r\n\r\n" + kBody;
        (void)::send(sock, kBusy.data(), kBusy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      }
      ::shutdown(sock, SHUT_RDWR);
      ::close(sock);
      return false;
    }
  }
  struct Release {
    GuardedHttpServer* self;
    const std::string& peer;
    ~Release() {
      if (self->max_per_address_ <= 0) return;
      std::lock_guard lock(self->address_mutex_);
      auto it = self->connections_.find(peer);
      if (it != self->connections_.end() && --it->second <= 0) self->connections_.erase(it);
    }
  } release{this, peer};
  SSL* ssl = nullptr;
  if (tls_) {
    // Blocking socket with receive/send timeouts: a stalled handshake or record read fails
    // after the read timeout instead of holding the thread.
    timeval rt{read_timeout_sec_, static_cast<suseconds_t>(read_timeout_usec_)};
    timeval wt{write_timeout_sec_, static_cast<suseconds_t>(write_timeout_usec_)};
    ::setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &rt, sizeof rt);
    ::setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &wt, sizeof wt);
    ssl = ctx_ ? SSL_new(ctx_) : nullptr;
    if (!ssl || SSL_set_fd(ssl, sock) != 1 || SSL_accept(ssl) != 1) {
      if (ssl) SSL_free(ssl);
      ERR_clear_error();
      ::shutdown(sock, SHUT_RDWR);
      ::close(sock);
      return false;
    }
  }
  GuardedStream strm(sock, ssl, read_timeout_sec_, read_timeout_usec_, write_timeout_sec_,
                     write_timeout_usec_, max_header_bytes_, header_timeout_);
  bool ret = true;
  for (std::size_t count = keep_alive_max_count_; count > 0; --count) {
    if (svr_sock_ == INVALID_SOCKET) break;
    if (!strm.has_buffered() && !poll_one(sock, POLLIN, keep_alive_timeout_sec_, 0)) break;
    strm.begin_request();
    current_stream = &strm;
    bool connection_closed = false;
    ret = process_request(strm, /*close_connection=*/count == 1, connection_closed, nullptr);
    current_stream = nullptr;
    if (!ret || connection_closed || strm.header_limit_hit() || strm.closing()) break;
  }
  if (ssl) {
    SSL_shutdown(ssl);
    SSL_free(ssl);
    ERR_clear_error();
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ret;
}

}  // namespace cryptounet::server
