#include "data/dicom_structure.h"

#include "cryptounet/common/error.h"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace cryptounet::data {
namespace {

constexpr std::uint32_t kUndefinedLength = 0xFFFFFFFFu;
constexpr int kMaxDepth = 16;
constexpr std::uint64_t kPreamble = 128;

struct Syntax {
  bool explicit_vr = true;
  bool big_endian = false;
};

class Walker {
 public:
  Walker(std::ifstream& in, std::uint64_t size, const std::string& what) : in_(in), size_(size), what_(what) {}

  void check() {
    if (size_ < kPreamble + 4) fail("shorter than the 128-byte preamble and 'DICM'");
    seek(kPreamble);
    char magic[4];
    read(magic, 4);
    if (std::memcmp(magic, "DICM", 4) != 0) fail("no 'DICM' after the 128-byte preamble");
    const Syntax syntax = meta_group();
    elements(size_, false, 0, syntax);
  }

 private:
  std::ifstream& in_;
  std::uint64_t size_;
  const std::string& what_;
  std::uint64_t pos_ = 0;

  [[noreturn]] void fail(const std::string& why) const {
    throw FormatError(what_ + ": not a well-formed DICOM file (" + why + ", at byte " + std::to_string(pos_) + ")");
  }
  void seek(std::uint64_t at) {
    pos_ = at;
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(at));
  }
  void read(void* dst, std::size_t n) {
    if (n > size_ - pos_) fail("truncated");
    in_.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
    if (!in_) fail("read error");
    pos_ += n;
  }
  std::uint16_t u16(bool big) {
    unsigned char b[2];
    read(b, 2);
    return static_cast<std::uint16_t>(big ? (b[0] << 8) | b[1] : (b[1] << 8) | b[0]);
  }
  std::uint32_t u32(bool big) {
    unsigned char b[4];
    read(b, 4);
    return big ? (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) | b[3]
               : (std::uint32_t{b[3]} << 24) | (std::uint32_t{b[2]} << 16) | (std::uint32_t{b[1]} << 8) | b[0];
  }
  void skip(std::uint64_t n, std::uint64_t end) {
    if (n > end - pos_) fail("a length past the end of its parent");
    seek(pos_ + n);
  }

  // Explicit VR: one of the standard's two-letter codes (gdcm reads an unknown one as the end of
  // the file meta group, then goes on from there).
  static bool known_vr(const char* vr) {
    static const char* const kKnown[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO",
                                         "LT", "OB", "OD", "OF", "OL", "OV", "OW", "PN", "SH", "SL", "SQ",
                                         "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV"};
    for (const char* k : kKnown)
      if (vr[0] == k[0] && vr[1] == k[1]) return true;
    return false;
  }
  // The long form (2 reserved bytes, 32-bit length) for these.
  static bool long_vr(const char* vr) {
    static const char* const kLong[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"};
    for (const char* l : kLong)
      if (vr[0] == l[0] && vr[1] == l[1]) return true;
    return false;
  }

  Syntax meta_group() {
    std::string transfer_syntax;
    while (size_ - pos_ >= 8) {
      const std::uint64_t start = pos_;
      const std::uint16_t group = u16(false);
      if (group != 0x0002) {
        seek(start);
        break;
      }
      const std::uint16_t elem = u16(false);
      char vr[2];
      read(vr, 2);
      if (!known_vr(vr)) fail("a file meta element without a known explicit VR");
      if (start == kPreamble + 4 && (elem != 0x0000 || vr[0] != 'U' || vr[1] != 'L'))
        fail("the file meta group does not start with its length (0002,0000) UL");
      if (vr[0] == 'S' && vr[1] == 'Q') fail("a sequence in the file meta group");
      std::uint32_t len = 0;
      if (long_vr(vr)) {
        (void)u16(false);
        len = u32(false);
      } else {
        len = u16(false);
      }
      if (len == kUndefinedLength || len > size_ - pos_) fail("a file meta element past the end of the file");
      if (elem == 0x0010) {
        if (len > 64) fail("a transfer syntax UID longer than 64 characters");
        transfer_syntax.resize(len);
        read(transfer_syntax.data(), len);
        while (!transfer_syntax.empty() && (transfer_syntax.back() == '\0' || transfer_syntax.back() == ' '))
          transfer_syntax.pop_back();
      } else {
        skip(len, size_);
      }
    }
    if (transfer_syntax.empty()) fail("no transfer syntax in the file meta group");
    if (size_ - pos_ < 8) fail("no data set after the file meta group");
    if (transfer_syntax == "1.2.840.10008.1.2") return {false, false};
    if (transfer_syntax == "1.2.840.10008.1.2.2") return {true, true};
    if (transfer_syntax == "1.2.840.10008.1.2.1.99") fail("deflated transfer syntax, not supported");
    return {true, false};  // explicit VR little endian, and the encapsulated (compressed) syntaxes
  }

  // Data elements from pos_ up to `end`; with `until_item_end`, up to an item delimiter instead.
  void elements(std::uint64_t end, bool until_item_end, int depth, Syntax s) {
    if (depth > kMaxDepth) fail("sequences nested deeper than 16");
    while (pos_ < end) {
      if (end - pos_ < 8) fail("a truncated element");
      const std::uint16_t group = u16(s.big_endian), elem = u16(s.big_endian);
      if (group == 0xFFFE) {
        const std::uint32_t len = u32(s.big_endian);
        if (elem == 0xE00D && until_item_end && len == 0) return;
        fail("an item tag outside a sequence");
      }
      std::uint32_t len = 0;
      bool sequence = false, may_be_undefined = false, unknown = false;
      if (s.explicit_vr) {
        char vr[2];
        read(vr, 2);
        if (!known_vr(vr)) fail("an element without a known explicit VR");
        if (long_vr(vr)) {
          (void)u16(s.big_endian);
          len = u32(s.big_endian);
          sequence = vr[0] == 'S' && vr[1] == 'Q';
          unknown = vr[0] == 'U' && vr[1] == 'N';
          may_be_undefined = sequence || unknown || (vr[0] == 'O' && (vr[1] == 'B' || vr[1] == 'W'));
        } else {
          len = u16(s.big_endian);
        }
      } else {
        len = u32(s.big_endian);
        may_be_undefined = true;
        sequence = len == kUndefinedLength;
      }
      const bool pixel_data = group == 0x7FE0 && elem == 0x0010;
      if (len == kUndefinedLength) {
        if (!may_be_undefined) fail("an undefined length on an element that cannot have one");
        // Encapsulated pixel data: fragments; a sequence (or UN of undefined length, which holds
        // implicit VR little endian): items of data elements.
        if (pixel_data && !sequence) {
          items(end, true, depth + 1, s, true);
        } else {
          items(end, true, depth + 1, unknown ? Syntax{false, false} : s, false);
        }
      } else {
        if (len > end - pos_) fail("an element length past the end of its parent");
        if (sequence) {
          const std::uint64_t stop = pos_ + len;
          items(stop, false, depth + 1, s, false);
          if (pos_ != stop) fail("a sequence whose items do not fill its length");
        } else if (depth == 0 && group == 0x0028 && elem == 0x0002) {
          samples_per_pixel(len, end, s);
        } else if (depth == 0 && group == 0x0028 && elem == 0x0004) {
          photometric(len, end);
        } else {
          skip(len, end);
        }
      }
    }
    if (until_item_end) fail("an item without its end");
  }

  // (0028,0002) Samples per Pixel: gdcm asserts that it is 1, 3 or 4 (an abort, not an error).
  void samples_per_pixel(std::uint32_t len, std::uint64_t end, Syntax s) {
    if (len != 2) fail("a samples-per-pixel value of " + std::to_string(len) + " bytes");
    if (len > end - pos_) fail("an element length past the end of its parent");
    const std::uint16_t spp = u16(s.big_endian);
    if (spp != 1 && spp != 3 && spp != 4) fail("samples per pixel " + std::to_string(spp) + ", not 1, 3 or 4");
  }

  // (0028,0004) Photometric Interpretation: the grey and colour kinds the reader turns into grey.
  // gdcm aborts on an assertion for a palette image without its tables; a palette image's
  // values are indices, not intensities, so it is refused whole.
  void photometric(std::uint32_t len, std::uint64_t end) {
    if (len > 16) fail("a photometric interpretation longer than 16 characters");
    if (len > end - pos_) fail("an element length past the end of its parent");
    std::string v(len, '\0');
    read(v.data(), len);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\0')) v.pop_back();
    static const char* const kKnown[] = {"MONOCHROME1", "MONOCHROME2", "RGB", "YBR_FULL", "YBR_FULL_422",
                                         "YBR_ICT", "YBR_RCT"};
    for (const char* k : kKnown)
      if (v == k) return;
    fail("photometric interpretation '" + v + "' (grey MONOCHROME1/2, RGB or YBR only)");
  }

  // Items (or pixel-data fragments) up to `end`, or up to the sequence delimiter.
  void items(std::uint64_t end, bool until_sequence_end, int depth, Syntax s, bool fragments) {
    if (depth > kMaxDepth) fail("sequences nested deeper than 16");
    for (;;) {
      if (!until_sequence_end && pos_ >= end) return;
      if (end - pos_ < 8) fail(until_sequence_end ? "a sequence without its end" : "a truncated item");
      const std::uint16_t group = u16(s.big_endian), elem = u16(s.big_endian);
      const std::uint32_t len = u32(s.big_endian);
      if (group != 0xFFFE) fail("an item without its tag");
      if (elem == 0xE0DD) {
        if (!until_sequence_end || len != 0) fail("a misplaced sequence end");
        return;
      }
      if (elem != 0xE000) fail("an item without its tag");
      if (fragments) {
        if (len == kUndefinedLength) fail("a pixel-data fragment of undefined length");
        skip(len, end);
      } else if (len == kUndefinedLength) {
        elements(end, true, depth + 1, s);
      } else {
        if (len > end - pos_) fail("an item length past the end of its parent");
        const std::uint64_t stop = pos_ + len;
        elements(stop, false, depth + 1, s);
      }
    }
  }
};

}  // namespace

void check_dicom_structure(const std::string& path, const std::string& what) {
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(path, ec);
  std::ifstream in(path, std::ios::binary);
  if (ec || !in) throw IoError(what + ": cannot open");
  Walker(in, size, what).check();
}

}  // namespace cryptounet::data
