#include "cryptounet/data/mask_cleanup.h"

#include "cryptounet/common/error.h"

#include <string>

namespace cryptounet::data {

namespace {

void check_shape(const Mask& m, const char* what) {
  if (m.width < 0 || m.height < 0 ||
      m.values.size() != static_cast<std::size_t>(m.width) * static_cast<std::size_t>(m.height))
    throw InvalidArgument(std::string(what) + ": mask of " + std::to_string(m.width) + "x" +
                          std::to_string(m.height) + " holds " + std::to_string(m.values.size()) + " values");
}

}  // namespace

ComponentLabels label_components(const Mask& mask, bool value, Connectivity c) {
  check_shape(mask, "label_components");
  const int w = mask.width, h = mask.height;
  ComponentLabels out;
  out.width = w;
  out.height = h;
  out.labels.assign(mask.values.size(), 0);
  auto in_set = [&](std::size_t i) { return (mask.values[i] != 0) == value; };
  static constexpr int kDy[8] = {-1, 1, 0, 0, -1, -1, 1, 1};
  static constexpr int kDx[8] = {0, 0, -1, 1, -1, 1, -1, 1};
  const int neighbours = c == Connectivity::eight ? 8 : 4;
  std::vector<std::size_t> stack;
  for (std::size_t start = 0; start < mask.values.size(); ++start) {
    if (!in_set(start) || out.labels[start] != 0) continue;
    const auto label = static_cast<std::int32_t>(out.sizes.size() + 1);
    std::size_t size = 0;
    out.labels[start] = label;
    stack.push_back(start);
    while (!stack.empty()) {
      const std::size_t i = stack.back();
      stack.pop_back();
      ++size;
      const int y = static_cast<int>(i / static_cast<std::size_t>(w)), x = static_cast<int>(i % static_cast<std::size_t>(w));
      for (int k = 0; k < neighbours; ++k) {
        const int yy = y + kDy[k], xx = x + kDx[k];
        if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
        const std::size_t j = static_cast<std::size_t>(yy) * static_cast<std::size_t>(w) + static_cast<std::size_t>(xx);
        if (in_set(j) && out.labels[j] == 0) {
          out.labels[j] = label;
          stack.push_back(j);
        }
      }
    }
    out.sizes.push_back(size);
  }
  return out;
}

Mask fill_holes(const Mask& mask) {
  check_shape(mask, "fill_holes");
  if (mask.values.empty()) return mask;
  const ComponentLabels bg = label_components(mask, false, Connectivity::four);
  const int w = mask.width, h = mask.height;
  std::vector<char> outside(static_cast<std::size_t>(bg.count()) + 1, 0);
  auto mark = [&](int y, int x) { outside[static_cast<std::size_t>(bg.labels[static_cast<std::size_t>(y) * w + x])] = 1; };
  for (int x = 0; x < w; ++x) {
    mark(0, x);
    mark(h - 1, x);
  }
  for (int y = 0; y < h; ++y) {
    mark(y, 0);
    mark(y, w - 1);
  }
  Mask out(w, h);
  for (std::size_t i = 0; i < out.values.size(); ++i) {
    const auto l = static_cast<std::size_t>(bg.labels[i]);
    out.values[i] = mask.values[i] != 0 || !outside[l] ? 1 : 0;
  }
  return out;
}

}  // namespace cryptounet::data
