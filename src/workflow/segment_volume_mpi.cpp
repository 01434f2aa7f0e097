#include "cryptounet/workflow/segment_volume_mpi.h"

#include <cstring>
#include <utility>

#include "cryptounet/common/error.h"

namespace cryptounet::nn {
namespace {

using distributed::Bytes;

void put_u64(Bytes& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
std::uint64_t get_u64(const Bytes& in, std::size_t& at) {
  if (in.size() < at + 8 || at + 8 < at) throw FormatError("volume batch: a message of " + std::to_string(in.size()) + " bytes is too short");
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{in[at + static_cast<std::size_t>(i)]} << (8 * i);
  at += 8;
  return v;
}

// The batch count, from rank 0 to every rank, after a barrier that does not spin while rank 0
// reads the volume and makes its checkpoint (the broadcast itself then blocks only briefly).
std::uint64_t share_count(distributed::World& world, std::uint64_t count) {
  world.barrier();
  Bytes b;
  if (world.rank() == 0) put_u64(b, count);
  b = world.broadcast(std::move(b));
  std::size_t at = 0;
  return get_u64(b, at);
}

}  // namespace

Bytes encode_tensors(const std::vector<Tensor>& tensors) {
  Bytes out;
  put_u64(out, tensors.size());
  for (const Tensor& t : tensors) {
    put_u64(out, static_cast<std::uint64_t>(t.shape.channels));
    put_u64(out, static_cast<std::uint64_t>(t.shape.height));
    put_u64(out, static_cast<std::uint64_t>(t.shape.width));
    if (t.data.size() != t.shape.size()) throw InvalidArgument("encode_tensors: data does not match the shape");
    const std::size_t at = out.size();
    out.resize(at + t.data.size() * sizeof(double));
    if (!t.data.empty()) std::memcpy(out.data() + at, t.data.data(), t.data.size() * sizeof(double));
  }
  return out;
}

std::vector<Tensor> decode_tensors(const Bytes& bytes) {
  std::size_t at = 0;
  const std::uint64_t n = get_u64(bytes, at);
  if (n > bytes.size() / 24) throw FormatError("volume batch: " + std::to_string(n) + " tensors in " + std::to_string(bytes.size()) + " bytes");
  std::vector<Tensor> out;
  for (std::uint64_t k = 0; k < n; ++k) {
    std::uint64_t dims[3];
    for (auto& d : dims) {
      d = get_u64(bytes, at);
      if (d == 0 || d > (1u << 20)) throw FormatError("volume batch: a tensor dimension of " + std::to_string(d));
    }
    const std::uint64_t values = dims[0] * dims[1] * dims[2];
    if (values > (bytes.size() - at) / sizeof(double)) throw FormatError("volume batch: a tensor larger than its message");
    Tensor t(Shape{static_cast<int>(dims[0]), static_cast<int>(dims[1]), static_cast<int>(dims[2])});
    std::memcpy(t.data.data(), bytes.data() + at, values * sizeof(double));
    at += values * sizeof(double);
    out.push_back(std::move(t));
  }
  if (at != bytes.size()) throw FormatError("volume batch: trailing bytes");
  return out;
}

SliceModel distributed_slice_model(distributed::World& world, RemoteSliceModel remote, VolumeQueueReport* report,
                                   const distributed::QueueOptions& options) {
  if (world.rank() != 0) throw InvalidArgument("distributed_slice_model: rank 0 runs segment_volume");
  if (remote.batch < 1 || !remote.encode || !remote.compute || !remote.decode)
    throw InvalidArgument("distributed_slice_model: incomplete remote model");
  SliceModel m;
  m.name = "distributed";
  m.batch = remote.batch;
  m.run_all = [&world, remote = std::move(remote), report, options](std::vector<std::vector<Tensor>> batches,
                                                                    const SliceModel::BatchDone& done) {
    const std::size_t count = static_cast<std::size_t>(share_count(world, batches.size()));
    std::vector<std::size_t> sizes(count);
    auto load = [&](std::size_t b) {
      sizes[b] = batches[b].size();
      Bytes bytes = remote.encode(batches[b]);
      batches[b] = {};  // rank 0 keeps no input it has handed out
      return bytes;
    };
    auto compute = [&](std::size_t, Bytes in) { return remote.compute(std::move(in)); };
    auto store = [&](std::size_t b, Bytes out) { done(b, remote.decode(std::move(out), sizes[b])); };
    VolumeQueueReport r;
    r.batches = count;
    r.stats = distributed::run_work_queue(world, count, load, compute, store, options);
    if (report) *report = std::move(r);
  };
  return m;
}

VolumeQueueReport serve_slice_batches(distributed::World& world, const std::function<Bytes(Bytes)>& compute,
                                      const distributed::QueueOptions& options) {
  if (world.rank() == 0) throw InvalidArgument("serve_slice_batches: rank 0 runs segment_volume");
  VolumeQueueReport r;
  r.batches = static_cast<std::size_t>(share_count(world, 0));
  auto none_load = [](std::size_t) -> Bytes { throw InvalidArgument("serve_slice_batches: load on a worker"); };
  auto none_store = [](std::size_t, Bytes) { throw InvalidArgument("serve_slice_batches: store on a worker"); };
  r.stats = distributed::run_work_queue(world, r.batches, none_load,
                                        [&](std::size_t, Bytes in) { return compute(std::move(in)); }, none_store,
                                        options);
  return r;
}

}  // namespace cryptounet::nn
