// The `cryptounet` commands as one family: the flags every command shares (positional inputs,
// -o/--out, --threads, --json), old spellings that still work with a note, every image format
// (PNG, TIFF, DICOM, NIfTI .nii/.nii.gz) in every image command, help for no command / `help` /
// a mistyped command, the refusals of bad values, raw logits as .npy, one meaning of "level" in
// the output, `evaluate --zoom`. Small INSECURE parameters (N=2^11) on the committed 16x16 fixture.
#include "apps/cli_runner.h"
#include "cryptounet/data/image_file.h"
#include "cryptounet/data/png.h"
#include "cryptounet/onnx/load_model.h"
#include "cryptounet/model/ref_executor.h"
#include "cryptounet/workflow/segment.h"
#include "data/image_writers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace cryptounet {
namespace {

using namespace cli_test;

class CliFamily : public CliTest {
 protected:
  CliFamily() : CliTest("cu_fam") {}

  /// One 16x16 grey image (values 0..255, both ends present) in every format; returns
  /// {format name: file}. The medical formats' min-max stretch then gives exactly v / 255.
  std::map<std::string, std::string> image_in_every_format() {
    const int w = 16, h = 16;
    std::vector<std::uint8_t> v(w * h);
    std::mt19937 rng(7);
    for (auto& x : v) x = static_cast<std::uint8_t>(rng() % 256);
    v[0] = 0;
    v[1] = 255;
    data::Image img(w, h);
    for (int i = 0; i < w * h; ++i) img.pixels[i] = static_cast<float>(v[i] / 255.0);
    std::map<std::string, std::string> files;
    files["png"] = path("img.png");
    data::write_image_png(files["png"], img);
    files["tiff"] = path("img.tif");
    test_images::write_file(files["tiff"], test_images::make_tiff8(w, h, v));
    const std::vector<std::int16_t> v16(v.begin(), v.end());
    files["dicom"] = path("img.dcm");
    test_images::write_file(files["dicom"], test_images::make_dicom(w, h, 1, v16, "MONOCHROME2", "", ""));
    files["nifti"] = path("img.nii");
    test_images::write_file(files["nifti"], test_images::make_nifti(w, h, 1, v16, 0.0f, 0.0f));
    files["nifti.gz"] = path("vol.nii.gz");
    test_images::write_file(path("vol.nii"), test_images::make_nifti(w, h, 1, v16, 0.0f, 0.0f));
    EXPECT_EQ(std::system(("gzip -f " + path("vol.nii")).c_str()), 0);
    for (const auto& [kind, file] : files) {
      const data::Image got = data::read_any_image(file);
      EXPECT_EQ(got.width, w) << kind;
      for (std::size_t i = 0; i < got.pixels.size(); ++i)
        EXPECT_NEAR(got.pixels[i], img.pixels[i], 1e-6) << kind << " pixel " << i;
    }
    return files;
  }
};

TEST(CliHelp, NoCommandHelpAndTypos) {
  auto r = run_cli("");
  EXPECT_EQ(r.status, 1);
  for (const char* c : {"segment", "predict", "evaluate", "serve", "client", "bench"})
    EXPECT_THAT(r.output, HasSubstr(c));
  EXPECT_THAT(r.output, Not(HasSubstr("A subcommand is required")));
  expect_cli_exit("help", 0, {"Subcommands:"});
  expect_cli_exit("help predict", 0, {"-o,--out"});
  expect_cli_exit("segmnet x.png", 2, {"did you mean 'segment'?", "commands: bench, client"});
  expect_cli_exit("bench ckk", 2, {"did you mean 'ckks'?"});
  expect_cli_exit("bench", 1, {"ckks"});
  r = run_cli("zzzzzzzz");
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.output, Not(HasSubstr("did you mean")));
}

// main re-executes itself with glibc's huge-page heap unless told not to (apps/cli/huge_page_heap.h);
// `info` reports what the running process got.
TEST(CliHeap, HugePageHeapIsOnByDefaultAndCanBeTurnedOff) {
  std::ifstream thp("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string mode;
  const bool kernel_thp = std::getline(thp, mode) && mode.find("[never]") == std::string::npos;
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "sanitizer build: its allocator is not glibc's";
#endif
  const std::string info = std::string(CU_CLI) + " info 2>&1";
  const cli_test::Run def = run_cli("info");
  ASSERT_EQ(def.status, 0) << def.output;
  if (kernel_thp) {
    EXPECT_THAT(def.output, HasSubstr("heap on huge pages: on\n"));
    EXPECT_THAT(def.output, HasSubstr("first touch of fresh heap: parallel"));
  } else {
    EXPECT_THAT(def.output, HasSubstr("off (the kernel's transparent huge pages are off)"));
  }
  const cli_test::Run off = test_support::run_command("CU_HUGE_PAGES=0 " + info);
  EXPECT_THAT(off.output, HasSubstr("heap on huge pages: off (CU_HUGE_PAGES=0)"));
  EXPECT_THAT(off.output, HasSubstr("first touch of fresh heap: off"));
  const cli_test::Run user = test_support::run_command("GLIBC_TUNABLES=glibc.malloc.hugetlb=0 " + info);
  EXPECT_THAT(user.output, HasSubstr("heap on huge pages: off (GLIBC_TUNABLES sets glibc.malloc.hugetlb otherwise)"));
  // Other tunables the user set survive the re-exec (the process still runs, and reports on).
  const cli_test::Run kept = test_support::run_command("GLIBC_TUNABLES=glibc.malloc.check=0 " + info);
  EXPECT_EQ(kept.status, 0) << kept.output;
  if (kernel_thp) {
    EXPECT_THAT(kept.output, HasSubstr("heap on huge pages: on\n"));
  }
}

TEST(CliFlags, SharedAcrossSubcommands) {
  // -o/--out for every command that writes a file or folder.
  for (const char* c : {"predict", "segment", "plan", "keygen", "encrypt", "infer", "decrypt", "client",
                        "dataset synth"}) {
    const auto r = run_cli(std::string(c) + " --help");
    EXPECT_EQ(r.status, 0) << c;
    EXPECT_THAT(r.output, HasSubstr("-o,--out")) << c;
  }
  // The input a command transforms is positional.
  for (const char* c : {"predict", "segment", "keygen", "encrypt", "infer", "decrypt", "client", "evaluate",
                        "dataset check"}) {
    const auto r = run_cli(std::string(c) + " --help");
    EXPECT_THAT(r.output, HasSubstr("Positionals:")) << c;
  }
  for (const char* c : {"segment", "keygen", "encrypt", "infer", "decrypt", "evaluate", "client", "serve",
                        "bench ckks"})
    EXPECT_THAT(run_cli(std::string(c) + " --help").output, HasSubstr("--threads")) << c;
  for (const char* c : {"evaluate", "bench ckks"})
    EXPECT_THAT(run_cli(std::string(c) + " --help").output, HasSubstr("--json")) << c;
  // Every image command reads every format and takes --slice for volumes.
  for (const char* c : {"predict", "segment", "encrypt", "decrypt", "client"})
    EXPECT_THAT(run_cli(std::string(c) + " --help").output, HasSubstr("--slice")) << c;
  // The test-only options of serve are listed, in their own group.
  EXPECT_THAT(run_cli("serve --help").output, HasSubstr("--fake-service"));
}

TEST(CliRefusals, BenchCkksRefusesUnknownNamesAndBadValues) {
  auto r = run_cli("bench ckks --only nonsense");
  EXPECT_NE(r.status, 0);
  EXPECT_THAT(r.output, HasSubstr("unknown operation 'nonsense'"));
  expect_cli_fails("bench ckks --only relinearize,rotate", {"unknown operation 'rotate'", "rotate_1"});
  expect_cli_fails("bench ckks --threads -1 --only add", {"--threads"});
  expect_cli_fails("bench ckks --reps 0 --only add", {"--reps"});
  r = run_cli("segment --threads -2 --model x.onnx in.png -o m.png");
  EXPECT_NE(r.status, 0);
  // A real run of one operation: every operation the bench times is one --only accepts (it checks
  // each as it goes), and --json puts JSON alone on stdout.
  const auto j = run_cli_split("bench ckks --params P1 --only add --reps 1 --json");
  ASSERT_EQ(j.status, 0) << j.out << j.err;
  EXPECT_EQ(j.out.rfind("{", 0), 0u) << j.out;
  EXPECT_THAT(j.out, HasSubstr("\"add\""));
  EXPECT_THAT(j.out, Not(HasSubstr("rescale")));
  EXPECT_THAT(j.err, HasSubstr("bench ckks: P1"));
}

TEST_F(CliFamily, OldSpellingsWorkWithANote) {
  const auto files = image_in_every_format();
  auto r = run_cli("predict --model " + model_ + " --image " + files.at("png") + " --out " + path("a.png"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("note: --image is deprecated"));
  r = run_cli("predict --model " + model_ + " " + files.at("png") + " -o " + path("b.png"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, Not(HasSubstr("deprecated")));
  EXPECT_EQ(data::read_mask(path("a.png")).values, data::read_mask(path("b.png")).values);
  // The error names the positional input and the usage, not an option that no longer matters.
  expect_cli_exit("predict --model " + model_ + " -o " + path("c.png"), 1,
                  {"an input image is required", "IMAGE -o"});
}

TEST_F(CliFamily, EveryImageFormatInEveryImageCommand) {
  const auto files = image_in_every_format();
  const nn::Graph g = nn::load_model(model_);
  const data::Mask want =
      nn::logits_to_mask(nn::run_reference(g, nn::image_to_input(g, data::read_image(files.at("png")), false)));

  // plan + keys once for encrypt/decrypt.
  const std::string plan = path("p.cup"), keys = path("keys");
  ASSERT_EQ(run_cli("plan --model " + model_ + " --insecure-test-params 11 -o " + plan).status, 0);
  ASSERT_EQ(run_cli("keygen " + plan + " -o " + keys + " --threads 1 --insecure-test-params").status, 0);
  for (const auto& [kind, file] : files) {
    SCOPED_TRACE(kind);
    auto r = run_cli("predict --model " + model_ + " " + file + " -o " + path(kind + ".pred.png"));
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(data::read_mask(path(kind + ".pred.png")).values, want.values);

    r = run_cli("encrypt --plan " + plan + " --keys " + keys + " " + file + " -o " + path(kind + ".ct") +
                " --threads 1 --insecure-test-params");
    ASSERT_EQ(r.status, 0) << r.output;
    r = run_cli("infer --model " + model_ + " --plan " + plan + " --eval-keys " + keys + "/eval.keys " +
                path(kind + ".ct") + " -o " + path(kind + ".out.ct") + " --threads 1");
    ASSERT_EQ(r.status, 0) << r.output;
    r = run_cli("decrypt --keys " + keys + " --plan " + plan + " " + path(kind + ".out.ct") + " -o " +
                path(kind + ".dec.png") + " --image " + file + " --overlay " + path(kind + ".ov.png"));
    ASSERT_EQ(r.status, 0) << r.output;
    const data::Mask got = data::read_mask(path(kind + ".dec.png"));
    std::size_t same = 0;
    for (std::size_t i = 0; i < got.values.size(); ++i) same += got.values[i] == want.values[i];
    EXPECT_GE(static_cast<double>(same), 0.99 * static_cast<double>(got.values.size()));
  }
  // segment: the whole chain, on the two formats that differ most from PNG (the others share
  // segment's reader with predict and encrypt above).
  for (const char* kind : {"dicom", "nifti.gz"}) {
    const auto r = run_cli("segment --model " + model_ + " " + files.at(kind) + " -o " + path(std::string(kind) + ".seg.png") +
                           " --insecure-test-params 11 --threads 1");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("identical mask pixels"));
  }
  // A volume slice out of range is a clear error.
  const auto r = run_cli("predict --model " + model_ + " " + files.at("nifti") + " --slice 5 -o " + path("x.png"));
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.output, HasSubstr("slice"));
}

TEST_F(CliFamily, LogitsAsNpyBitExact) {
  const auto files = image_in_every_format();
  const auto r = run_cli("predict --model " + model_ + " " + files.at("png") + " -o " + path("m.png") +
                         " --logits " + path("l.npy"));
  ASSERT_EQ(r.status, 0) << r.output;
  const nn::Graph g = nn::load_model(model_);
  const nn::Tensor logits = nn::run_reference(g, nn::image_to_input(g, data::read_image(files.at("png")), false));
  std::ifstream in(path("l.npy"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  ASSERT_GT(bytes.size(), 10u);
  const std::size_t header = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  const std::string dict = bytes.substr(10, header);
  EXPECT_THAT(dict, HasSubstr("'descr': '<f8'"));
  EXPECT_THAT(dict, HasSubstr("'shape': (" + std::to_string(logits.shape.channels) + ", 16, 16)"));
  ASSERT_EQ(bytes.size(), 10 + header + logits.data.size() * 8);
  for (std::size_t i = 0; i < logits.data.size(); ++i) {
    double d;
    std::memcpy(&d, bytes.data() + 10 + header + 8 * i, 8);
    ASSERT_EQ(d, logits.data[i]) << i;
  }
}

TEST_F(CliFamily, LevelIsNamedInEveryOutput) {
  auto r = run_cli("inspect --model " + model_);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("depth = multiplicative levels used"));
  r = run_cli("segment --model " + model_ + " " + image_in_every_format().at("png") + " -o " + path("s.png") +
              " --insecure-test-params 11 --threads 1 --report");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("level = CKKS level"));
}

TEST_F(CliFamily, EvaluateZoomAndProgressOnStderr) {
  const std::string data = path("nuclei");
  ASSERT_EQ(run_cli("dataset synth --count 8 --size 16 --seed 5 -o " + data).status, 0);
  auto r = run_cli_split("evaluate --plain --model " + model_ + " " + data + " --split all --zoom 0.5,0.75");
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("zoomed out to 0.5"));
  EXPECT_THAT(r.out, HasSubstr("zoomed out to 0.75"));
  EXPECT_THAT(r.out, HasSubstr("zoomed-out plain Dice: mean"));
  EXPECT_THAT(r.err, HasSubstr("8/8 images"));
  EXPECT_THAT(r.out, Not(HasSubstr("8/8 images")));
  r = run_cli_split("evaluate --plain --model " + model_ + " " + data + " --split all --zoom 1.5");
  EXPECT_NE(r.status, 0);
}

// Issue 9 item 6 for the commands that know the model but get no plan: segment and predict refuse
// a file whose header declares another size than the model's input before decoding it, and
// decrypt bounds its --image by the plan's model (resample factor).
TEST(CliRefusals, SegmentAndPredictTakeTheModelSizeAsTheImageLimit) {
  const std::string model = (fs::path(CU_SOURCE_DIR) / "models" / "brain64.onnx").string();
  ASSERT_TRUE(fs::exists(model)) << model;
  const fs::path dir = fs::temp_directory_path() / ("cu_fam_limit_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  data::Image img(65, 64);
  img.pixels[7] = 0.5;
  const std::string png = (dir / "wide.png").string();
  data::write_image_png(png, img);
  for (const std::string cmd : {"predict", "segment --insecure-test-params 13"}) {
    const auto r = run_cli(cmd + " --model " + model + " " + png + " -o " + (dir / "m.png").string());
    EXPECT_NE(r.status, 0) << cmd;
    EXPECT_THAT(r.output, HasSubstr("is 65x64 but model 'brain64' expects 64x64; pass --resize")) << cmd;
    EXPECT_THAT(r.output, HasSubstr("refused before decoding")) << cmd;
  }
  // With --resize the same file is within 32x the model's size and is read.
  const auto ok = run_cli("predict --resize --model " + model + " " + png + " -o " + (dir / "m.png").string());
  EXPECT_EQ(ok.status, 0) << ok.output;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cryptounet

namespace cryptounet {
namespace {

TEST(CliRefusals, TooSmallRingCutsThePlaneIntoBands) {
  // Issue 11: a ring too small for one 64x64 plane (2048 slots at N=2^12) no longer refuses: the
  // plane is cut into 2 bands of 32 rows, and the plan says so.
  const std::string model = (fs::path(CU_SOURCE_DIR) / "models" / "brain64.onnx").string();
  if (!fs::exists(model)) GTEST_SKIP() << model << " missing";
  const std::string dir = (fs::temp_directory_path() / ("cu_fam_ring_" + std::to_string(::getpid()))).string();
  auto r = run_cli("plan --model " + model + " --insecure-test-params 12 -o " + dir + ".cup");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("planes in 2 bands of 32 rows"));
  fs::remove(dir + ".cup");
}

}  // namespace
}  // namespace cryptounet
