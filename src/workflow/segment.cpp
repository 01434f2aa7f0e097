#include "cryptounet/workflow/segment.h"

#include "cryptounet/common/error.h"
#include "cryptounet/data/mask_cleanup.h"
#include "cryptounet/data/resize.h"

namespace cryptounet::nn {

data::PlaneLimit model_plane_limit(const Graph& graph, bool resize) {
  const Shape in = graph.input_shape();
  return data::PlaneLimit{in.width, in.height, resize, "model '" + graph.name + "'"};
}

Tensor image_to_input(const Graph& graph, const data::Image& image, bool resize,
                      const std::string& what) {
  const Shape in = graph.input_shape();
  if (in.channels != 1)
    throw Unsupported("segment: model '" + graph.name + "' takes " + std::to_string(in.channels) +
                      " input channels; only grey (1-channel) models are supported");
  const data::Image* src = &image;
  data::Image resized;
  if (image.width != in.width || image.height != in.height) {
    if (!resize)
      throw InvalidArgument(what + " is " + std::to_string(image.width) + "x" +
                            std::to_string(image.height) + " but model '" + graph.name +
                            "' expects " + std::to_string(in.width) + "x" +
                            std::to_string(in.height) + "; pass --resize to resample it");
    resized = data::resize_area(image, in.width, in.height);
    src = &resized;
  }
  Tensor t(in);
  for (std::size_t i = 0; i < t.data.size(); ++i) t.data[i] = src->pixels[i];
  return t;
}

data::Mask logits_to_mask(const Tensor& logits, double threshold) {
  const Shape s = logits.shape;
  if (s.channels < 1 || logits.data.size() != s.size())
    throw InvalidArgument("logits_to_mask: tensor of shape " + std::to_string(s.channels) + "x" +
                          std::to_string(s.height) + "x" + std::to_string(s.width) + " holds " +
                          std::to_string(logits.data.size()) + " values");
  data::Mask m(s.width, s.height);
  for (int y = 0; y < s.height; ++y)
    for (int x = 0; x < s.width; ++x) {
      if (s.channels == 1) {
        m.at(y, x) = logits.at(0, y, x) > threshold ? 1 : 0;
      } else {
        int best = 0;
        for (int c = 1; c < s.channels; ++c)
          if (logits.at(c, y, x) > logits.at(best, y, x)) best = c;
        m.at(y, x) = best != 0 ? 1 : 0;
      }
    }
  return m;
}

data::Mask output_mask(const Tensor& logits, double threshold, bool clean_mask) {
  data::Mask m = logits_to_mask(logits, threshold);
  return clean_mask ? data::fill_holes(m) : m;
}

}  // namespace cryptounet::nn
