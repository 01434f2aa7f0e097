// Issue 9 ("the client trusts no server"): what the CLI refuses, each through the real binary.
// Plans come from `cryptounet plan --insecure-test-params 11` (a small ring, insecure on purpose).
#include "apps/cli_runner.h"
#include "cryptounet/data/png.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>
#include <filesystem>
#include <string>

namespace cryptounet {
namespace {

using namespace cli_test;

class CliHardening : public CliTest {
 protected:
  CliHardening() : CliTest("cu_hard") {}
  void prepare() override {
    ::chmod(dir_.c_str(), 0700);
  }
  std::string insecure_plan() {
    const std::string plan = path("p.cup");
    const auto r = run_cli("plan --model " + model_ + " --insecure-test-params 11 -o " + plan);
    EXPECT_EQ(r.status, 0) << r.output;
    return plan;
  }

};

// Item 1: a plan that is not 128-bit secure is refused by keygen and encrypt unless their own
// command line says --insecure-test-params; no key is made.
TEST_F(CliHardening, KeygenAndEncryptRefuseInsecurePlansWithoutTheirOwnFlag) {
  const std::string plan = insecure_plan();
  auto r = run_cli("keygen --plan " + plan + " --out " + path("keys") + " --threads 1");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("not 128-bit secure"));
  EXPECT_THAT(r.output, HasSubstr("N=2^11"));
  EXPECT_FALSE(fs::exists(path("keys/secret.key")));
  r = run_cli("keygen --insecure-test-params --plan " + plan + " --out " + path("keys") + " --threads 1");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("INSECURE"));
  const std::string image = path("img.png");
  data::Image img(16, 16);
  for (double& v : img.pixels) v = 0.5f;
  data::write_image_png(image, img);
  r = run_cli("encrypt --plan " + plan + " --keys " + path("keys") + " " + image + " -o " + path("in.ct"));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("not 128-bit secure"));
  EXPECT_FALSE(fs::exists(path("in.ct")));
}

// Item 1: plain http to another machine is refused before any connection; `serve
// --insecure-test-params` binds to loopback only.
TEST_F(CliHardening, HttpToOtherHostsAndInsecureServeOnTheNetworkAreRefused) {
  const std::string image = path("x.png");
  const data::Image img(4, 4);
  data::write_image_png(image, img);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run_cli("client --server http://192.0.2.7:8080 --key-dir " + path("k") + " -o " + path("out") + " " + image);
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("plain http"));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));  // refused, not timed out
  r = run_cli("serve --model " + model_ + " --insecure-test-params 11 --bind 0.0.0.0 --port 0 --data-dir " +
              path("data"));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("loopback only"));
}


// Item 7: keygen never chmods an existing folder, refuses one others can write, and never
// overwrites a secret key without --force. Item 11: --out /dev/null gets a clear message.
TEST_F(CliHardening, KeygenFoldersAndExistingSecretKey) {
  const std::string plan = insecure_plan();
  const std::string shared = path("shared");
  fs::create_directory(shared);
  ::chmod(shared.c_str(), 0777);
  auto r = run_cli("keygen --insecure-test-params --plan " + plan + " --out " + shared + " --threads 1");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("can be written by every user"));
  struct stat st {};
  ASSERT_EQ(::stat(shared.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0777u) << "keygen chmod-ed a folder it did not create";
  EXPECT_FALSE(fs::exists(shared + "/secret.key"));

  const std::string keys = path("new/keys");
  r = run_cli("keygen --insecure-test-params --plan " + plan + " --out " + keys + " --threads 1");
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_EQ(::stat(keys.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  const auto secret = [&] {
    std::ifstream in(keys + "/secret.key", std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  const std::string first = secret();
  r = run_cli("keygen --insecure-test-params --plan " + plan + " --out " + keys + " --threads 1");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("--force"));
  EXPECT_EQ(secret(), first) << "an existing secret key was overwritten";
  r = run_cli("keygen --insecure-test-params --force --plan " + plan + " --out " + keys + " --threads 1");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(secret(), first);

  r = run_cli("keygen --insecure-test-params --plan " + plan + " --out /dev/null --threads 1");
  EXPECT_EQ(r.status, 1) << r.output;  // 1: a clear error; 2 would be "internal error"
  EXPECT_THAT(r.output, HasSubstr("not a folder"));
  EXPECT_THAT(r.output, ::testing::Not(HasSubstr("internal error")));
}

// Item 11: a folder or a FIFO given as an input image: a clear one-line error at once.
TEST_F(CliHardening, FolderAndFifoAsInput) {
  const std::string plan = insecure_plan();
  ASSERT_EQ(run_cli("keygen --insecure-test-params --plan " + plan + " --out " + path("k") + " --threads 1").status, 0);
  const std::string fifo = path("pipe.png");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::thread unblock([&] {  // releases a reader that would block on the FIFO (base behaviour)
    std::this_thread::sleep_for(std::chrono::seconds(5));
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto r = run_cli("encrypt --insecure-test-params --plan " + plan + " --keys " + path("k") + " " + fifo + " -o " +
                   path("x.ct"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("FIFO"));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
  r = run_cli("encrypt --insecure-test-params --plan " + plan + " --keys " + path("k") + " " + path("k") + " -o " +
              path("x.ct"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("is a folder"));
  unblock.join();
}

}  // namespace
}  // namespace cryptounet
