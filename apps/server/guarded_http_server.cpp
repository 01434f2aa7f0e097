#include "server/guarded_http_server.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

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
    header_used_ = 0;
    header_deadline_ = std::chrono::steady_clock::now() + header_timeout_;
  }
  void end_headers() { in_headers_ = false; }
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
  char buf_[4096];
  std::size_t pos_ = 0, len_ = 0;
};

thread_local GuardedStream* current_stream = nullptr;

}  // namespace

GuardedHttpServer::GuardedHttpServer(std::size_t max_header_bytes,
                                     std::chrono::milliseconds header_timeout)
    : max_header_bytes_(max_header_bytes), header_timeout_(header_timeout) {}

GuardedHttpServer::GuardedHttpServer(std::size_t max_header_bytes,
                                     std::chrono::milliseconds header_timeout,
                                     const std::string& cert_file, const std::string& key_file)
    : max_header_bytes_(max_header_bytes), header_timeout_(header_timeout), tls_(true) {
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

bool GuardedHttpServer::process_and_close_socket(socket_t sock) {
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
    if (!ret || connection_closed || strm.header_limit_hit()) break;
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
