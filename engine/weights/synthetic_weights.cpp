// Synthetic weights: every tensor filled from a counter-based hash of (seed, tensor, index), so
// the values do not depend on the order tensors are built in. The buffers live in one holder
// object; the returned ModelWeights points into them and shares the holder's lifetime.
#include "engine/weights/synthetic_weights.h"

#include <cmath>
#include <deque>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/weights/cpu_packing.h"
#include "engine/weights/weight_arena.h"

namespace moescope {

using kernels::DType;

namespace {

// splitmix64: a full-period 64-bit mix, good enough for benchmark weights.
inline uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Uniform in [-1, 1) from 24 bits of the hash.
inline float unit(uint64_t h) {
  return float(int64_t(h >> 40) - (int64_t(1) << 23)) * (1.0f / float(1 << 23));
}

// std::lround for |x| < 2^23, without a library call (lroundf took most of a tinyC int8 bench's
// start-up): the conversion truncates, and x minus the truncated value is exact there.
inline int32_t round_half_away(float x) {
  const int32_t t = int32_t(x);
  const float frac = x - float(t);
  return t + (frac >= 0.5f ? 1 : 0) - (frac <= -0.5f ? 1 : 0);
}

struct Holder {
  ModelWeights weights;
  WeightArena matrices;                   // matrices as stored, on huge pages (weight_arena.h)
  std::deque<std::vector<float>> floats;  // norms, router, scales
};

class Builder {
 public:
  Builder(Holder& h, const SyntheticWeightOptions& o) : h_(h), o_(o) {}

  // A [rows, cols] matrix in the chosen dtype with values uniform of standard deviation sd.
  WeightMatrix matrix(const char* what, int64_t rows, int64_t cols, float sd) {
    const uint64_t stream = mix(o_.seed ^ mix(++tensor_));
    const float amp = sd * std::sqrt(3.0f);  // uniform [-a, a] has sd a / sqrt(3)
    const size_t n = size_t(rows * cols);
    WeightMatrix m;
    m.dtype = o_.dtype;
    m.n = rows;
    m.k = cols;
    const size_t bytes = n * kernels::dtype_size(o_.dtype);
    void* data = h_.matrices.take(bytes);
    switch (o_.dtype) {
      case DType::F32: {
        auto* p = static_cast<float*>(data);
        for (size_t i = 0; i < n; ++i) p[i] = amp * unit(mix(stream + i));
        break;
      }
      case DType::BF16:
      case DType::F16: {
        auto* p = static_cast<uint16_t*>(data);
        const bool bf = o_.dtype == DType::BF16;
        for (size_t i = 0; i < n; ++i) {
          const float v = amp * unit(mix(stream + i));
          p[i] = bf ? kernels::f32_to_bf16(v) : kernels::f32_to_f16(v);
        }
        break;
      }
      case DType::I8: {
        if (o_.int8_groups < 1 || cols % o_.int8_groups != 0)
          fail("--int8-groups ", o_.int8_groups, " must divide the ", cols,
               " input features of the ", what);
        auto* p = static_cast<int8_t*>(data);
        for (size_t i = 0; i < n; ++i)
          p[i] = int8_t(round_half_away(127.0f * unit(mix(stream + i))));
        // One scale per (row, group); all equal here, amp / 127, as symmetric absmax gives.
        std::vector<float>& s = h_.floats.emplace_back(size_t(rows * o_.int8_groups), amp / 127.0f);
        m.scales = s.data();
        m.groups = o_.int8_groups;
        h_.weights.owned_bytes += s.size() * sizeof(float);
        break;
      }
      default:
        fail("synthetic weights: dtype ", kernels::dtype_name(o_.dtype),
             " is not one of F32, BF16, F16, I8");
    }
    m.data = data;
    h_.weights.checkpoint_owned_bytes += bytes;
    h_.weights.matrix_bytes += bytes;
    h_.weights.bf16_expanded_bytes += n * 2;
    return m;
  }

  // An f32 [rows, cols] matrix (the router).
  WeightMatrix f32_matrix(int64_t rows, int64_t cols, float sd) {
    const uint64_t stream = mix(o_.seed ^ mix(++tensor_));
    std::vector<float>& v = h_.floats.emplace_back(size_t(rows * cols));
    for (size_t i = 0; i < v.size(); ++i) v[i] = sd * std::sqrt(3.0f) * unit(mix(stream + i));
    h_.weights.owned_bytes += v.size() * sizeof(float);
    WeightMatrix m;
    m.data = v.data();
    m.n = rows;
    m.k = cols;
    return m;
  }

  // A norm weight [n]: 1 + uniform(-0.17, 0.17) (sd 0.1).
  const float* norm(int64_t n) {
    const uint64_t stream = mix(o_.seed ^ mix(++tensor_));
    std::vector<float>& v = h_.floats.emplace_back(size_t(n));
    for (size_t i = 0; i < v.size(); ++i)
      v[i] = 1.0f + 0.1f * std::sqrt(3.0f) * unit(mix(stream + i));
    h_.weights.owned_bytes += v.size() * sizeof(float);
    return v.data();
  }

 private:
  Holder& h_;
  const SyntheticWeightOptions& o_;
  uint64_t tensor_ = 0;
};

}  // namespace

std::shared_ptr<const ModelWeights> synthetic_weights(const ModelConfig& c,
                                                      const SyntheticWeightOptions& options) {
  c.validate();
  auto holder = std::make_shared<Holder>();
  ModelWeights& w = holder->weights;
  Builder b(*holder, options);
  const int64_t D = c.d_model, V = c.vocab_size, qd = c.n_heads * c.head_dim,
                kvd = c.n_kv_heads * c.head_dim, F = c.expert_ffn, Fs = c.shared_ffn;
  const float in_d = 1.0f / std::sqrt(float(D));
  w.embed = b.matrix("token embedding", V, D, 1.0f / c.embed_multiplier);
  w.lm_head = c.tied_embeddings ? w.embed : b.matrix("output projection", V, D, in_d);
  w.final_norm = b.norm(D);
  w.layers.resize(size_t(c.n_layers));
  for (LayerWeights& L : w.layers) {
    L.wq = b.matrix("query projection", qd, D, 2.0f * in_d);
    L.wk = b.matrix("key projection", kvd, D, 2.0f * in_d);
    L.wv = b.matrix("value projection", kvd, D, in_d);
    L.wo = b.matrix("attention output projection", D, qd, 1.0f / std::sqrt(float(qd)));
    L.norm_pre_attn = b.norm(D);
    L.norm_pre_moe = b.norm(D);
    if (c.sandwich_norm) {
      L.norm_post_attn = b.norm(D);
      L.norm_post_moe = b.norm(D);
    }
    L.router = b.f32_matrix(c.n_experts, D, 2.0f * in_d);
    L.experts.resize(size_t(c.n_experts));
    for (ExpertWeights& X : L.experts) {
      X.gate = b.matrix("expert gate projection", F, D, in_d);
      X.up = b.matrix("expert up projection", F, D, in_d);
      X.down = b.matrix("expert down projection", D, F, 1.0f / std::sqrt(float(F)));
    }
    if (Fs > 0) {
      L.shared_gate = b.matrix("shared MLP gate projection", Fs, D, in_d);
      L.shared_up = b.matrix("shared MLP up projection", Fs, D, in_d);
      L.shared_down = b.matrix("shared MLP down projection", D, Fs, 1.0f / std::sqrt(float(Fs)));
    }
  }
  if (options.pack_for_cpu) pack_in_place_for_cpu(w);
  // The aliasing constructor: the weights live as long as the holder of their buffers.
  return std::shared_ptr<const ModelWeights>(holder, &holder->weights);
}

}  // namespace moescope
