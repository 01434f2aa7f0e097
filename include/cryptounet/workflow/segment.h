// The glue between images and the network: an image becomes the input tensor (1 channel, values
// in [0, 1] as in training) and logits become a mask (client-side, in plaintext).
#pragma once

#include "cryptounet/data/image.h"
#include "cryptounet/data/image_file.h"
#include "cryptounet/model/graph.h"

#include <string>

namespace cryptounet::nn {

/// The input tensor for `graph` from a grey image. With `resize`, an image of another size is
/// resampled by area averaging; without it a size mismatch is an error.
/// @throws InvalidArgument if the sizes differ and !resize (the message suggests --resize);
///         Unsupported if the model takes more than one channel.
[[nodiscard]] Tensor image_to_input(const Graph& graph, const data::Image& image, bool resize,
                                    const std::string& what = "image");

/// The model's input size as a reader limit (data/image_file.h), for commands that know the model
/// but have no plan (segment, predict): a file declaring another size (with `resize`, more than
/// kMaxResampleFactor times it per side) is refused before it is decoded.
[[nodiscard]] data::PlaneLimit model_plane_limit(const Graph& graph, bool resize);

/// One channel: foreground where logit > threshold (0 ⇔ sigmoid > 0.5). Several channels:
/// foreground where the argmax is not channel 0 (threshold unused).
[[nodiscard]] data::Mask logits_to_mask(const Tensor& logits, double threshold = 0.0);

/// The client's mask of one output plane: logits_to_mask, then, with clean_mask (`--clean-mask`),
/// data::fill_holes (data/mask_cleanup.h), at the model's resolution.
[[nodiscard]] data::Mask output_mask(const Tensor& logits, double threshold, bool clean_mask);

}  // namespace cryptounet::nn
