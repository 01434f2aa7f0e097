// The client's retries: an answer lost on the way back (connection dropped after the server
// stored the job) is retried with the same Idempotency-Key and the image runs once; a server
// that is down for a moment is waited for. Also HTTPS with a self-signed certificate.
#include "server_test_util.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <openssl/ssl.h>

#include <atomic>

namespace cryptounet::server::testing {
namespace {

/// Reads one HTTP request (headers + Content-Length body) from a client socket.
std::string read_request(int fd) { return read_all(fd); }

/// A TCP proxy on 127.0.0.1 in front of the server that forwards one request per connection
/// and, for the first `drop` job submissions, swallows the server's answer and closes.
class LossyProxy {
 public:
  LossyProxy(int upstream_port, int drop) : upstream_(upstream_port), drop_(drop) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(listen_fd_, 16);
    thread_ = std::thread([this] { loop(); });
  }
  ~LossyProxy() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    thread_.join();
  }
  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] int dropped() const { return dropped_; }

 private:
  void loop() {
    while (!stop_) {
      int c = ::accept(listen_fd_, nullptr, nullptr);
      if (c < 0) return;
      timeval tv{5, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      const std::string request = read_request(c);
      int up = connect_local(upstream_);
      send_all(up, request);
      const std::string response = read_all(up);
      ::close(up);
      const bool is_submit = request.rfind("POST /v1/sessions/", 0) == 0;
      if (is_submit && dropped_ < drop_) {
        ++dropped_;  // the server has the job; the client never hears about it
      } else {
        send_all(c, response);
      }
      ::close(c);
    }
  }
  int upstream_, drop_;
  int listen_fd_ = -1, port_ = 0;
  std::atomic<int> dropped_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(ClientRetries, LostAnswerDoesNotSubmitTwice) {
  TestServer ts;
  LossyProxy proxy(ts.port, 2);
  auto options = ts.client_options();
  options.server_url = "http://127.0.0.1:" + std::to_string(proxy.port());
  InferenceClient c(options);
  auto session = c.create_session("fake", fake::make_keys(51, kKeyBytes));
  const std::string ct = fake_ciphertext(51, 1);
  const std::string job = c.submit(session, ct);
  EXPECT_EQ(proxy.dropped(), 2);
  EXPECT_EQ(c.wait(session, job).state, "done");
  EXPECT_EQ(c.result(session, job), expected_result(51, ct));
  httplib::Client raw(ts.url());
  auto r = raw.Get(("/v1/sessions/" + session.id).c_str(),
                   {{"Authorization", "Bearer " + session.token}});
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body)["jobs"].size(), 1u);  // three POSTs, one job
}

TEST(ClientRetries, GivesUpWithAClearErrorWhenNobodyListens) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);  // a free port nobody listens on
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  client::ClientOptions o;
  o.server_url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  o.max_connection_retries = 2;
  o.initial_backoff = 10ms;
  InferenceClient c(o);
  EXPECT_THROW(c.list_models(), IoError);
  ::close(fd);
}

TEST(Https, SelfSignedCertificateWithCaFile) {
  TempDir tls;
  const auto cert = tls.path() / "cert.pem", key = tls.path() / "key.pem";
  const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
                          "-addext subjectAltName=IP:127.0.0.1 -keyout " + key.string() +
                          " -out " + cert.string() + " >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) GTEST_SKIP() << "openssl command not available";
  ServerConfig config;
  config.cert_file = cert.string();
  config.key_file = key.string();
  TestServer ts(config);
  auto options = ts.client_options();
  options.server_url = "https://127.0.0.1:" + std::to_string(ts.port);
  options.ca_cert_file = cert.string();
  InferenceClient c(options);
  auto session = c.create_session("fake", fake::make_keys(61, kKeyBytes));
  const std::string ct = fake_ciphertext(61, 1);
  EXPECT_EQ(c.run_batch(session, {ct}).at(0), expected_result(61, ct));
  // without trusting the certificate the client refuses to talk
  options.ca_cert_file = (tls.path() / "missing.pem").string();
  options.max_connection_retries = 0;
  InferenceClient untrusting(options);
  EXPECT_THROW(untrusting.list_models(), IoError);
  // plain HTTP to the HTTPS port gets nowhere
  httplib::Client plain("http://127.0.0.1:" + std::to_string(ts.port));
  auto r = plain.Get("/v1/models");
  EXPECT_TRUE(!r || r->status != 200);

  // the header-size guard holds over TLS too: an endless request line is cut off
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = SSL_new(ctx);
  int fd = connect_local(ts.port);
  ASSERT_GE(fd, 0);
  SSL_set_fd(ssl, fd);
  ASSERT_EQ(SSL_connect(ssl), 1);
  const std::string chunk(1 << 16, 'A');
  std::size_t sent = 0;
  while (sent < (64u << 20)) {
    const int n = SSL_write(ssl, chunk.data(), static_cast<int>(chunk.size()));
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  ::close(fd);
  EXPECT_LT(sent, 16u << 20);
  EXPECT_EQ(c.list_models().size(), 1u);
}

}  // namespace
}  // namespace cryptounet::server::testing
