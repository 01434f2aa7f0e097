// Segmenting a volume with a 2-D model: slices along an anatomical axis, each normalised and
// resampled as the model was trained (model card), run through a slice model (plaintext
// reference, or the encrypted chain one image or a batch at a time), and the masks (and
// probabilities) resampled back onto the input's grid. Finished slices are kept in a checkpoint
// folder so an interrupted run resumes where it stopped and gives the same result.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cryptounet/data/volume.h"
#include "cryptounet/data/volume_slices.h"
#include "cryptounet/model/graph.h"

namespace cryptounet::nn {

/// How a slice becomes the model's [0, 1] input (the model card's "normalisation").
enum class SliceNormalisation {
  slice_max,  // "[0,1] by slice max": negatives to 0, divided by the slice's maximum after resampling
  percentile, // "[0,1]: slice / its Q th percentile ...": after resampling, divided by the Q-th percentile
              // of its pixels (numpy 'linear'; the maximum if that is 0), clipped to [0, 1]
  min_max,    // anything else: (v - min) / (max - min) over the slice
};
/// From a card's "normalisation" text ("" or unknown: min_max); `q` gets the percentile.
[[nodiscard]] SliceNormalisation parse_slice_normalisation(const std::string& card_text, double* q = nullptr);
/// The "normalisation" entry of the card beside `model_path` ("" if there is no card or entry).
[[nodiscard]] std::string read_card_normalisation(const std::string& model_path);

/// Turns a batch of model inputs into logits. `batch` inputs per call at most (a throughput
/// plan's rows); the last call of a volume may pass fewer.
struct SliceModel {
  std::string name;  // "plaintext", "encrypted" ...
  int batch = 1;
  std::function<std::vector<Tensor>(const std::vector<Tensor>&)> run;
  /// Optional, instead of one `run` call per batch: runs every batch itself (the MPI volume mode
  /// shares them across ranks, workflow/segment_volume_mpi.h) and calls `done(b, logits of
  /// batches[b])` once per batch, from the calling thread, in any order. When set it is called
  /// even with no batches (all slices empty or resumed), so that other ranks learn there is none.
  using BatchDone = std::function<void(std::size_t, std::vector<Tensor>)>;
  std::function<void(std::vector<std::vector<Tensor>> batches, const BatchDone& done)> run_all;
};

struct VolumeProgress {
  int done = 0;          // slices finished (resumed, empty and computed)
  int total = 0;         // slices in the range
  int computed = 0;      // slices run through the model so far in this process
  int last_slice = -1;   // the slice just finished
  double elapsed_s = 0;  // since the model started on the first slice
  double eta_s = -1;     // remaining, from the mean time per computed slice (-1: unknown yet)
};

struct VolumeOptions {
  data::SliceAxis axis = data::SliceAxis::axial;
  SliceNormalisation normalisation = SliceNormalisation::slice_max;
  double percentile = 99.5;        // for SliceNormalisation::percentile
  int first = 0, last = -1;        // slice range [first, last] (last -1: the last slice)
  double threshold = 0.0;          // logit threshold for 1-channel heads (as logits_to_mask)
  bool clean_mask = false;         // fill holes in each slice's mask (output_mask; not in the checkpoint)
  bool probabilities = false;      // also return the foreground probability per voxel
  std::string checkpoint_dir;      // "" = none; finished slices are kept there
  std::string checkpoint_key;      // what must match to resume (model, method, ...)
  std::function<void(const VolumeProgress&)> progress;
};

struct VolumeResult {
  std::vector<float> mask;           // on the input grid, 0 / 1
  std::vector<float> probabilities;  // on the input grid, if asked
  int slices = 0;                    // in the range
  int empty = 0;                     // all-zero slices (mask 0, no model run)
  int resumed = 0;                   // taken from the checkpoint
  int computed = 0;                  // run through the model here
  double seconds = 0;                // wall time of the model runs
  int model_size = 0;                // the model's input side
  int slice_width = 0, slice_height = 0;
  std::string orientation;           // e.g. "RAS"
};

/// Segments `volume` (see the file comment). Slices outside [first, last] stay 0.
/// @throws InvalidArgument (bad range, a model without a square 1-channel input),
/// FormatError (a checkpoint folder of another run: the message says to delete it), IoError.
[[nodiscard]] VolumeResult segment_volume(const Graph& graph, const data::Volume& volume,
                                          const SliceModel& model, const VolumeOptions& options);

/// The model input for one slice plane (row-major, height × width, raw values), as the
/// training scripts made it: padded to a centred square, resampled by area to the model's side,
/// normalised. Returns false (input untouched) for a slice with nothing in it.
bool slice_to_input(const Graph& graph, const std::vector<float>& plane, int width, int height,
                    SliceNormalisation normalisation, Tensor& input, double percentile = 99.5);

}  // namespace cryptounet::nn
