#include "cryptounet/he/backends/encode_cache.h"

#include "cryptounet/common/error.h"

namespace cryptounet::nn {

void EncodeCache::bind(const void* graph, const void* plan, int slots, double default_scale) {
  std::lock_guard lock(mu_);
  if (graph_ == nullptr) {
    graph_ = graph;
    plan_ = plan;
    slots_ = slots;
    scale_ = default_scale;
    return;
  }
  if (graph_ != graph || plan_ != plan || slots_ != slots || scale_ != default_scale)
    throw InvalidArgument("encode cache: it holds the plaintexts of another model, plan or context; "
                          "keep one cache per (model, plan, context)");
}

const std::any* EncodeCache::find(const Key& key, double scale) const {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.scale != scale) return nullptr;
  return &it->second.value;
}

const std::any* EncodeCache::insert(const Key& key, double scale, double bytes, std::any& value) {
  std::lock_guard lock(mu_);
  if (auto it = entries_.find(key); it != entries_.end())
    return it->second.scale == scale ? &it->second.value : nullptr;
  if (bytes_ + bytes > budget_) return nullptr;
  bytes_ += bytes;
  Entry& e = entries_[key];
  e.scale = scale;
  e.value = std::move(value);
  return &e.value;
}

double EncodeCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

std::size_t EncodeCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

void EncodeCache::clear() {
  std::lock_guard lock(mu_);
  entries_.clear();
  bytes_ = 0;
  graph_ = plan_ = nullptr;
  slots_ = 0;
  scale_ = 0;
}

}  // namespace cryptounet::nn
