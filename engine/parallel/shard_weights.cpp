#include "engine/parallel/shard_weights.h"

#include <cstring>

#include "engine/core/error.h"
#include "engine/parallel/layout.h"

namespace moescope::parallel {

namespace {

// The full weights, the rank's view of them, and the column slices it owns.
struct ShardHolder {
  std::shared_ptr<const ModelWeights> full;
  ModelWeights view;
  std::vector<std::vector<uint8_t>> bytes;
  std::vector<std::vector<float>> scales;
};

// Rows [r0, r0 + n) of w: a view.
WeightMatrix rows(const WeightMatrix& w, int64_t r0, int64_t n) {
  WeightMatrix out = w;
  out.data = static_cast<const uint8_t*>(w.data) + size_t(r0 * w.k) * kernels::dtype_size(w.dtype);
  out.n = n;
  if (w.scales) out.scales = w.scales + r0 * w.groups;
  return out;
}

// Columns [c0, c0 + k) of w: a copy owned by the holder.
WeightMatrix columns(ShardHolder& h, const WeightMatrix& w, int64_t c0, int64_t k,
                     const char* what) {
  const size_t es = kernels::dtype_size(w.dtype);
  std::vector<uint8_t>& data = h.bytes.emplace_back(size_t(w.n * k) * es);
  const auto* src = static_cast<const uint8_t*>(w.data);
  for (int64_t r = 0; r < w.n; ++r)
    std::memcpy(data.data() + size_t(r * k) * es, src + size_t(r * w.k + c0) * es, size_t(k) * es);
  WeightMatrix out = w;
  out.data = data.data();
  out.k = k;
  if (w.scales && w.groups > 1) {
    const int64_t parts = w.k / k;  // tp
    if (w.groups % parts != 0)
      fail(what, ": its ", w.groups, " scale groups per row cannot be split ", parts,
           " ways (tensor parallelism needs the groups to divide by tp)");
    const int64_t g = w.groups / parts, g0 = c0 / (w.k / w.groups);
    std::vector<float>& s = h.scales.emplace_back(size_t(w.n * g));
    for (int64_t r = 0; r < w.n; ++r)
      std::memcpy(s.data() + r * g, w.scales + r * w.groups + g0, size_t(g) * sizeof(float));
    out.scales = s.data();
    out.groups = g;
  }
  return out;  // one group per row (or none): the row's scale applies to every column slice
}

}  // namespace

Shard shard_weights(const ModelConfig& c, std::shared_ptr<const ModelWeights> full, int tp,
                    int rank, const std::vector<int>* expert_group, int ep_rank) {
  ParallelLayout layout{tp, 1, {}};
  validate_layout(c, layout);
  if (full->cpu_packed)
    fail(
        "sharding needs the weights row-major, as loaded (these are packed for the CPU kernels; "
        "each rank's model packs its own shard)");
  if (rank < 0 || rank >= tp) fail("tensor-parallel rank ", rank, " is outside 0..", tp - 1);
  auto h = std::make_shared<ShardHolder>();
  h->full = full;
  const ModelWeights& w = *full;
  ModelWeights& v = h->view;
  v.scheme = w.scheme;
  v.final_norm = w.final_norm;

  Shard s;
  s.config = c;
  const int64_t Dh = c.head_dim, hq = c.n_heads / tp;
  const int64_t hkv = c.n_kv_heads % tp == 0 ? c.n_kv_heads / tp : 1;
  // The first KV head this rank holds: its query heads' group (GQA maps q head i to i / group).
  const int64_t kv0 = (int64_t(rank) * hq) / c.gqa_group();
  const int64_t f = c.expert_ffn / tp, fs = c.shared_ffn / tp;
  s.config.n_heads = hq;
  s.config.n_kv_heads = hkv;
  s.config.expert_ffn = f;
  s.config.shared_ffn = fs;
  const int64_t vr = (c.vocab_size + tp - 1) / tp;
  s.vocab_begin = std::min<int64_t>(int64_t(rank) * vr, c.vocab_size);
  s.vocab_end = std::min<int64_t>(s.vocab_begin + vr, c.vocab_size);

  v.embed = rows(w.embed, s.vocab_begin, s.vocab_end - s.vocab_begin);
  v.lm_head = rows(w.lm_head, s.vocab_begin, s.vocab_end - s.vocab_begin);
  for (size_t l = 0; l < w.layers.size(); ++l) {
    const LayerWeights& lw = w.layers[l];
    LayerWeights& out = v.layers.emplace_back();
    out.wq = rows(lw.wq, rank * hq * Dh, hq * Dh);
    out.wk = rows(lw.wk, kv0 * Dh, hkv * Dh);
    out.wv = rows(lw.wv, kv0 * Dh, hkv * Dh);
    out.wo = columns(*h, lw.wo, rank * hq * Dh, hq * Dh, "o_proj");
    out.norm_pre_attn = lw.norm_pre_attn;
    out.norm_post_attn = lw.norm_post_attn;
    out.norm_pre_moe = lw.norm_pre_moe;
    out.norm_post_moe = lw.norm_post_moe;
    out.router = lw.router;
    for (size_t e = 0; e < lw.experts.size(); ++e) {
      const ExpertWeights& x = lw.experts[e];
      if (expert_group && (*expert_group)[e] != ep_rank) {
        out.experts.push_back({});  // another expert group's
        continue;
      }
      out.experts.push_back({rows(x.gate, rank * f, f), rows(x.up, rank * f, f),
                             columns(*h, x.down, rank * f, f, "expert down projection")});
    }
    if (c.shared_ffn > 0) {
      out.shared_gate = rows(lw.shared_gate, rank * fs, fs);
      out.shared_up = rows(lw.shared_up, rank * fs, fs);
      out.shared_down = columns(*h, lw.shared_down, rank * fs, fs, "shared MLP down projection");
    }
  }
  s.weights = std::shared_ptr<const ModelWeights>(h, &h->view);
  return s;
}

}  // namespace moescope::parallel
