#include "data/dicom_isolated.h"

#include "cryptounet/common/error.h"
#include "cryptounet/data/image_file.h"
#include "data/dicom_pixels.h"

#include <gdcmImage.h>
#include <gdcmImageReader.h>
#include <gdcmPhotometricInterpretation.h>
#include <gdcmTrace.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace cryptounet::data {
namespace {

// What the child sends: a status byte, then the header fields, then the values (or a message).
enum Status : std::uint8_t { kOk = 0, kFormatError = 1, kInvalidArgument = 2, kOtherError = 3 };

struct Header {
  std::uint8_t readable, monochrome1;
  std::uint32_t ndim, dims[3];
  double origin[3], direction[6], spacing[3];
  std::int32_t width, height;
  std::uint64_t values;
};

void put(std::string& out, const void* p, std::size_t n) { out.append(static_cast<const char*>(p), n); }

std::string read_in_child(const std::string& path, const std::string& what, int frame) {
  gdcm::Trace::WarningOff();
  gdcm::Trace::ErrorOff();
  gdcm::ImageReader reader;
  reader.SetFileName(path.c_str());
  Header h{};
  std::vector<double> values;
  if (reader.Read()) {
    const gdcm::Image& im = reader.GetImage();
    h.readable = 1;
    h.ndim = im.GetNumberOfDimensions();
    const unsigned* d = im.GetDimensions();
    for (int k = 0; k < 3; ++k) h.dims[k] = k < static_cast<int>(h.ndim) ? d[k] : 1;
    h.monochrome1 = im.GetPhotometricInterpretation() == gdcm::PhotometricInterpretation::MONOCHROME1;
    std::memcpy(h.origin, im.GetOrigin(), sizeof h.origin);
    std::memcpy(h.direction, im.GetDirectionCosines(), sizeof h.direction);
    const double* s = im.GetSpacing();
    for (int k = 0; k < 3; ++k) h.spacing[k] = s[k];
    int w = 0, hh = 0;
    values = dicom_frame_values(im, path, what, frame, w, hh);
    h.width = w;
    h.height = hh;
  }
  h.values = values.size();
  std::string out(1, static_cast<char>(kOk));
  put(out, &h, sizeof h);
  put(out, values.data(), values.size() * sizeof(double));
  return out;
}

void write_all(int fd, const std::string& s) {
  std::size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(3);
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

DicomRead read_dicom_isolated(const std::string& path, const std::string& what, int frame) {
  int fds[2];
  if (::pipe(fds) != 0) throw IoError(what + ": cannot make a pipe");
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw IoError(what + ": cannot start the reading process");
  }
  if (pid == 0) {  // child: read, send, leave without running the parent's exit handlers
    ::close(fds[0]);
    // An abort or fault in gdcm ends this process only, whatever handlers the parent installed.
    for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) ::signal(sig, SIG_DFL);
    std::string out;
    try {
      out = read_in_child(path, what, frame);
    } catch (const FormatError& e) {
      out = std::string(1, static_cast<char>(kFormatError)) + e.what();
    } catch (const InvalidArgument& e) {
      out = std::string(1, static_cast<char>(kInvalidArgument)) + e.what();
    } catch (const std::exception& e) {
      out = std::string(1, static_cast<char>(kOtherError)) + e.what();
    }
    write_all(fds[1], out);
    ::close(fds[1]);
    _exit(0);
  }
  ::close(fds[1]);
  // At most the header and one frame's doubles (dicom_frame_values checks the frame against the
  // decode limit before decoding).
  const std::size_t limit = 1 + sizeof(Header) + kMaxDecodedBytes;
  std::string in;
  char buf[1 << 16];
  bool too_long = false;
  for (;;) {
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    in.append(buf, static_cast<std::size_t>(n));
    if (in.size() > limit) {
      too_long = true;
      ::kill(pid, SIGKILL);
      break;
    }
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (too_long) throw FormatError(what + ": the decoded frame is larger than this reader accepts");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || in.empty())
    throw FormatError(what + ": gdcm aborted reading this file (malformed DICOM)");
  const std::string message = in.substr(1);
  switch (static_cast<std::uint8_t>(in[0])) {
    case kOk: break;
    case kFormatError: throw FormatError(message);
    case kInvalidArgument: throw InvalidArgument(message);
    default: throw FormatError(what + ": " + message);
  }
  Header h{};
  if (in.size() < 1 + sizeof h) throw FormatError(what + ": gdcm aborted reading this file (malformed DICOM)");
  std::memcpy(&h, in.data() + 1, sizeof h);
  if (in.size() != 1 + sizeof h + h.values * sizeof(double))
    throw FormatError(what + ": gdcm aborted reading this file (malformed DICOM)");
  DicomRead r;
  r.readable = h.readable != 0;
  r.ndim = h.ndim;
  std::memcpy(r.dims, h.dims, sizeof r.dims);
  r.monochrome1 = h.monochrome1 != 0;
  std::memcpy(r.origin, h.origin, sizeof r.origin);
  std::memcpy(r.direction, h.direction, sizeof r.direction);
  std::memcpy(r.spacing, h.spacing, sizeof r.spacing);
  r.width = h.width;
  r.height = h.height;
  r.values.resize(h.values);
  if (h.values) std::memcpy(r.values.data(), in.data() + 1 + sizeof h, h.values * sizeof(double));
  return r;
}

}  // namespace cryptounet::data
