// Test images in every format the readers take, written byte by byte from the standards (so the
// tests do not trust the libraries' own writers): 16-bit DICOM (Explicit VR Little Endian, rescale
// slope/intercept, MONOCHROME1/2, multi-frame), NIfTI-1 single files with int16 voxels, and
// uncompressed 8-bit grey baseline TIFF.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace cryptounet::test_images {

inline void put16(std::string& s, std::uint16_t v) { s.append(reinterpret_cast<const char*>(&v), 2); }
inline void put32(std::string& s, std::uint32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); }

// Explicit VR little endian element with a short (16-bit) length.
inline void elem(std::string& s, std::uint16_t g, std::uint16_t e, const char* vr, std::string value) {
  if (value.size() % 2) value += (std::string(vr) == "UI" ? '\0' : ' ');
  put16(s, g);
  put16(s, e);
  s += vr;
  put16(s, static_cast<std::uint16_t>(value.size()));
  s += value;
}
inline std::string us(std::uint16_t v) { return std::string(reinterpret_cast<const char*>(&v), 2); }

/// The start of a DICOM Part 10 file: preamble, "DICM", the file meta group (Explicit VR Little
/// Endian transfer syntax), then the dataset's SOP class and instance UIDs and its modality.
inline std::string dicom_head(const std::string& sop_class, const std::string& sop_instance,
                              const std::string& modality) {
  std::string meta;
  // (0002,0001) OB: reserved 2 bytes and a 4-byte length.
  put16(meta, 0x0002), put16(meta, 0x0001), meta += "OB", put16(meta, 0), put32(meta, 2),
      meta += std::string("\0\1", 2);
  elem(meta, 0x0002, 0x0002, "UI", sop_class);
  elem(meta, 0x0002, 0x0003, "UI", sop_instance);
  elem(meta, 0x0002, 0x0010, "UI", "1.2.840.10008.1.2.1");
  std::string f(128, '\0');
  f += "DICM";
  std::string group_length;
  put32(group_length, static_cast<std::uint32_t>(meta.size()));
  elem(f, 0x0002, 0x0000, "UL", group_length);
  f += meta;
  elem(f, 0x0008, 0x0016, "UI", sop_class);
  elem(f, 0x0008, 0x0018, "UI", sop_instance);
  elem(f, 0x0008, 0x0060, "CS", modality);
  return f;
}

/// Bits allocated / stored 16, high bit 15, signed pixels.
inline void dicom_signed16_bits(std::string& f) {
  elem(f, 0x0028, 0x0100, "US", us(16));
  elem(f, 0x0028, 0x0101, "US", us(16));
  elem(f, 0x0028, 0x0102, "US", us(15));
  elem(f, 0x0028, 0x0103, "US", us(1));
}

/// (7FE0,0010) OW pixel data.
inline void dicom_pixel_data(std::string& f, const std::vector<std::int16_t>& px) {
  put16(f, 0x7fe0), put16(f, 0x0010), f += "OW", put16(f, 0);
  put32(f, static_cast<std::uint32_t>(px.size() * 2));
  f.append(reinterpret_cast<const char*>(px.data()), px.size() * 2);
}

/// w x h x frames 16-bit signed DICOM (Explicit VR Little Endian) with the given photometric.
inline std::string make_dicom(int w, int h, int frames, const std::vector<std::int16_t>& px,
                              const std::string& photometric, const std::string& slope,
                              const std::string& intercept) {
  std::string f = dicom_head("1.2.840.10008.5.1.4.1.1.7", "1.2.826.0.1.3680043.2.1125.1", "OT");
  elem(f, 0x0028, 0x0002, "US", us(1));
  elem(f, 0x0028, 0x0004, "CS", photometric);
  if (frames > 1) elem(f, 0x0028, 0x0008, "IS", std::to_string(frames));
  elem(f, 0x0028, 0x0010, "US", us(static_cast<std::uint16_t>(h)));
  elem(f, 0x0028, 0x0011, "US", us(static_cast<std::uint16_t>(w)));
  dicom_signed16_bits(f);
  if (!intercept.empty()) elem(f, 0x0028, 0x1052, "DS", intercept);
  if (!slope.empty()) elem(f, 0x0028, 0x1053, "DS", slope);
  dicom_pixel_data(f, px);
  return f;
}

/// NIfTI-1 single file: 348-byte header, 4 zero extension bytes, int16 voxels at offset 352.
inline std::string make_nifti(int nx, int ny, int nz, const std::vector<std::int16_t>& vox, float slope,
                              float inter) {
  std::string h(348, '\0');
  auto at16 = [&](std::size_t off, std::int16_t v) { std::memcpy(&h[off], &v, 2); };
  auto atf = [&](std::size_t off, float v) { std::memcpy(&h[off], &v, 4); };
  const std::int32_t size = 348;
  std::memcpy(&h[0], &size, 4);
  at16(40, 3), at16(42, static_cast<std::int16_t>(nx)), at16(44, static_cast<std::int16_t>(ny)),
      at16(46, static_cast<std::int16_t>(nz));
  for (int i = 4; i < 8; ++i) at16(40 + 2 * i, 1);
  at16(70, 4);   // DT_INT16
  at16(72, 16);  // bitpix
  for (int i = 0; i < 8; ++i) atf(76 + 4 * i, 1.0f);
  atf(108, 352.0f);
  atf(112, slope);
  atf(116, inter);
  std::memcpy(&h[344], "n+1\0", 4);
  h += std::string(4, '\0');
  h.append(reinterpret_cast<const char*>(vox.data()), vox.size() * 2);
  return h;
}

/// Baseline little-endian TIFF: one 8-bit grey page (BlackIsZero), uncompressed, one strip.
inline std::string make_tiff8(int w, int h, const std::vector<std::uint8_t>& px) {
  std::string f = "II";
  put16(f, 42);
  put32(f, 8);
  const int entries = 9;
  const std::uint32_t data_at = 8 + 2 + entries * 12 + 4;
  auto entry = [&f](std::uint16_t tag, std::uint16_t type, std::uint32_t value) {
    put16(f, tag);
    put16(f, type);
    put32(f, 1);
    put32(f, value);  // a SHORT sits in the low bytes (little endian)
  };
  put16(f, entries);
  entry(256, 4, static_cast<std::uint32_t>(w));  // ImageWidth
  entry(257, 4, static_cast<std::uint32_t>(h));  // ImageLength
  entry(258, 3, 8);                              // BitsPerSample
  entry(259, 3, 1);                              // Compression: none
  entry(262, 3, 1);                              // Photometric: BlackIsZero
  entry(273, 4, data_at);                        // StripOffsets
  entry(277, 3, 1);                              // SamplesPerPixel
  entry(278, 4, static_cast<std::uint32_t>(h));  // RowsPerStrip
  entry(279, 4, static_cast<std::uint32_t>(px.size()));  // StripByteCounts
  put32(f, 0);                                   // no next page
  f.append(reinterpret_cast<const char*>(px.data()), px.size());
  return f;
}

inline void write_file(const std::filesystem::path& p, const std::string& bytes) {
  std::ofstream o(p, std::ios::binary);
  o.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace cryptounet::test_images
