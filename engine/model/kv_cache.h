// The key/value cache of one sequence: post-RoPE keys and values of every layer, f32.
// Shape legend: S capacity (positions), Hkv KV heads, Dh head dim, L layers.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/config/model_config.h"

namespace moescope {

class KvCache {
 public:
  // Room for capacity positions (at most the model's context). Allocates L * 2 * S * Hkv * Dh f32.
  KvCache(const ModelConfig& config, int64_t capacity);

  int64_t capacity() const { return capacity_; }
  // Positions filled so far; the next token goes at this position.
  int64_t length() const { return length_; }
  void set_length(int64_t n);  // truncate (n <= length) to re-run from an earlier position
  void clear() { set_length(0); }

  float* keys(int64_t layer) { return k_.data() + size_t(layer) * layer_stride_; }  // [S, Hkv, Dh]
  float* values(int64_t layer) {
    return v_.data() + size_t(layer) * layer_stride_;
  }  // [S, Hkv, Dh]
  // 1 where a position may be attended to, 0 for masked (padding) keys. [S]
  uint8_t* key_valid() { return valid_.data(); }
  size_t bytes() const { return (k_.size() + v_.size()) * sizeof(float) + valid_.size(); }

 private:
  friend class Model;
  void advance(int64_t n) { length_ += n; }

  int64_t capacity_ = 0;
  int64_t length_ = 0;
  size_t layer_stride_ = 0;
  std::vector<float> k_, v_;
  std::vector<uint8_t> valid_;
};

}  // namespace moescope
