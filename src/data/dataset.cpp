#include "cryptounet/data/dataset.h"

#include "cryptounet/common/error.h"
#include "cryptounet/data/png.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>

namespace cryptounet::data {
namespace {

namespace fs = std::filesystem;

bool known_split(const std::string& s) { return s == "train" || s == "val" || s == "test"; }

std::string size_str(int w, int h) { return std::to_string(w) + "x" + std::to_string(h); }

}  // namespace

std::vector<DatasetItem> Dataset::split(const std::string& which) const {
  if (!known_split(which) && which != "all")
    throw InvalidArgument("dataset: unknown split '" + which + "' (use train, val, test or all)");
  std::vector<DatasetItem> out;
  for (const auto& item : items)
    if (which == "all" || item.split == which) out.push_back(item);
  return out;
}

Dataset read_dataset(const std::string& dir) {
  if (!fs::is_directory(dir)) throw IoError("dataset: '" + dir + "' is not a folder");
  const fs::path manifest = fs::path(dir) / "manifest.json";
  std::ifstream in(manifest);
  if (!in)
    throw IoError("dataset: '" + manifest.string() +
                  "' is missing; a dataset folder holds images/, masks/ and manifest.json");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError("dataset: '" + manifest.string() + "' is not valid JSON: " + e.what());
  }
  const std::string where = "dataset: '" + manifest.string() + "'";
  if (!j.is_object() || !j.contains("items") || !j["items"].is_array())
    throw FormatError(where + " must be an object with an \"items\" array");
  Dataset ds;
  ds.dir = dir;
  ds.name = j.value("name", fs::path(dir).filename().string());
  if (j.contains("size")) {
    if (!j["size"].is_number_integer() || j["size"].get<int>() <= 0)
      throw FormatError(where + ": \"size\" must be a positive integer");
    ds.size = j["size"].get<int>();
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < j["items"].size(); ++i) {
    const auto& it = j["items"][i];
    const std::string at = where + " item " + std::to_string(i);
    if (!it.is_object() || !it.contains("file") || !it["file"].is_string() ||
        !it.contains("split") || !it["split"].is_string())
      throw FormatError(at + " needs string keys \"file\" and \"split\"");
    DatasetItem item;
    item.file = it["file"].get<std::string>();
    item.split = it["split"].get<std::string>();
    if (it.contains("source") && it["source"].is_string()) item.source = it["source"].get<std::string>();
    if (item.file.empty() || item.file.find('/') != std::string::npos || item.file == "..")
      throw FormatError(at + ": file '" + item.file + "' must be a plain file name");
    if (!known_split(item.split))
      throw FormatError(at + " ('" + item.file + "'): unknown split '" + item.split +
                        "' (expected train, val or test)");
    if (!seen.insert(item.file).second)
      throw FormatError(at + ": file '" + item.file + "' is listed twice");
    if (!fs::exists(fs::path(dir) / "images" / item.file))
      throw FormatError(where + ": image 'images/" + item.file + "' is missing");
    if (!fs::exists(fs::path(dir) / "masks" / item.file))
      throw FormatError(where + ": image '" + item.file + "' has no mask 'masks/" + item.file +
                        "' (missing pair)");
    ds.items.push_back(std::move(item));
  }
  return ds;
}

Sample load_sample(const Dataset& ds, const DatasetItem& item) {
  Sample s;
  s.file = item.file;
  s.image = read_image((fs::path(ds.dir) / "images" / item.file).string());
  s.mask = read_mask((fs::path(ds.dir) / "masks" / item.file).string());
  if (s.mask.width != s.image.width || s.mask.height != s.image.height)
    throw FormatError("dataset '" + ds.dir + "': mask of '" + item.file + "' is " +
                      size_str(s.mask.width, s.mask.height) + ", its image is " +
                      size_str(s.image.width, s.image.height));
  if (ds.size > 0 && (s.image.width != ds.size || s.image.height != ds.size))
    throw FormatError("dataset '" + ds.dir + "': image '" + item.file + "' is " +
                      size_str(s.image.width, s.image.height) + ", the manifest says " +
                      size_str(ds.size, ds.size));
  return s;
}

void write_manifest(const std::string& dir, const std::string& name, int size,
                    const std::vector<DatasetItem>& items) {
  nlohmann::json j;
  j["name"] = name;
  j["size"] = size;
  j["items"] = nlohmann::json::array();
  for (const auto& item : items) {
    if (!known_split(item.split))
      throw InvalidArgument("write_manifest: item '" + item.file + "' has unknown split '" +
                            item.split + "'");
    j["items"].push_back({{"file", item.file}, {"split", item.split}, {"source", item.source}});
  }
  std::error_code ec;
  fs::create_directories(fs::path(dir) / "images", ec);
  fs::create_directories(fs::path(dir) / "masks", ec);
  std::ofstream out(fs::path(dir) / "manifest.json", std::ios::trunc);
  if (!out) throw IoError("write_manifest: cannot write '" + dir + "/manifest.json'");
  out << j.dump(1) << '\n';
  if (!out) throw IoError("write_manifest: writing '" + dir + "/manifest.json' failed");
}

void write_sample(const std::string& dir, const std::string& file, const Image& image,
                  const Mask& mask) {
  std::error_code ec;
  fs::create_directories(fs::path(dir) / "images", ec);
  fs::create_directories(fs::path(dir) / "masks", ec);
  write_image_png((fs::path(dir) / "images" / file).string(), image);
  write_mask_png((fs::path(dir) / "masks" / file).string(), mask);
}

}  // namespace cryptounet::data
