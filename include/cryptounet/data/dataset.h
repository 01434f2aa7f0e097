// A dataset folder: DIR/images/<file>, DIR/masks/<file> (same name, 0/255) and DIR/manifest.json
// = {"name", "size", "items": [{"file", "split": "train|val|test", "source"}]} (extra keys are
// ignored). The one format every part of the project reads and writes: the Python data preparation
// (train/) writes it for the brain MRI slices, `cryptounet dataset synth` for the nuclei.
#pragma once

#include "cryptounet/data/image.h"

#include <string>
#include <vector>

namespace cryptounet::data {

struct DatasetItem {
  std::string file;    // name inside images/ and masks/
  std::string split;   // "train", "val" or "test"
  std::string source;  // free text, may be empty
};

struct Dataset {
  std::string dir;
  std::string name;
  int size = 0;  // H = W of every image; 0 if the manifest does not say
  std::vector<DatasetItem> items;

  /// The items of one split, in manifest order.
  /// @throws InvalidArgument if split is not train, val, test or all.
  [[nodiscard]] std::vector<DatasetItem> split(const std::string& name) const;
};

struct Sample {
  std::string file;
  Image image;
  Mask mask;
};

/// Reads and checks DIR/manifest.json and that every listed image and mask file exists.
/// @throws IoError (missing folder or manifest), FormatError (bad JSON, missing keys, unknown
///         split, duplicate file, missing image or mask file).
[[nodiscard]] Dataset read_dataset(const std::string& dir);

/// Loads one item's image and mask.
/// @throws IoError / FormatError for unreadable files; FormatError when the mask's size differs
///         from the image's, or the image's size differs from the manifest's "size".
[[nodiscard]] Sample load_sample(const Dataset& dataset, const DatasetItem& item);

/// Writes DIR/manifest.json (creating DIR, DIR/images, DIR/masks).
/// @throws InvalidArgument for an unknown split; IoError if writing fails.
void write_manifest(const std::string& dir, const std::string& name, int size,
                    const std::vector<DatasetItem>& items);

/// Writes one pair into DIR/images/<file> and DIR/masks/<file>.
void write_sample(const std::string& dir, const std::string& file, const Image& image,
                  const Mask& mask);

}  // namespace cryptounet::data
