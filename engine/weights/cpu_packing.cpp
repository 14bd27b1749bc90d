#include "engine/weights/cpu_packing.h"

#include <map>
#include <utility>

#include "engine/weights/file_pages.h"
#include "engine/weights/weight_arena.h"
#include "kernels/cpu/weight_packing.h"

namespace moescope {

namespace {

// Calls f(m) for every matrix the forward pass multiplies by (not the embedding: gathered by
// rows; when tied it is lm_head and follows it).
template <class F>
void for_each_product_matrix(ModelWeights& w, F&& f) {
  f(w.lm_head);
  for (LayerWeights& L : w.layers) {
    for (WeightMatrix* m :
         {&L.wq, &L.wk, &L.wv, &L.wo, &L.router, &L.shared_gate, &L.shared_up, &L.shared_down})
      f(*m);
    for (ExpertWeights& x : L.experts)
      for (WeightMatrix* m : {&x.gate, &x.up, &x.down}) f(*m);
  }
}

bool tied(const ModelWeights& w) {
  return w.embed.data == w.lm_head.data;
}

struct PackedHolder {
  std::shared_ptr<const ModelWeights> source;
  ModelWeights weights;
  WeightArena packed;  // the packed matrices, on huge pages (weight_arena.h)
};

}  // namespace

std::shared_ptr<const ModelWeights> pack_for_cpu(std::shared_ptr<const ModelWeights> weights) {
  if (weights->cpu_packed) return weights;
  auto h = std::make_shared<PackedHolder>();
  h->source = weights;
  ModelWeights& w = h->weights;
  const ModelWeights& src = *weights;
  w.scheme = src.scheme;
  w.embed = src.embed;
  w.lm_head = src.lm_head;
  w.final_norm = src.final_norm;
  w.layers = src.layers;
  w.mapped_bytes = src.mapped_bytes;
  w.checkpoint_owned_bytes = src.checkpoint_owned_bytes;
  w.owned_bytes = src.owned_bytes;
  w.bf16_expanded_bytes = src.bf16_expanded_bytes;
  w.matrix_bytes = src.matrix_bytes;
  w.cpu_packed = true;

  std::map<const void*, WeightMatrix> packed;  // by source data: a matrix used twice packs once
  const FilePages file_pages;
  for_each_product_matrix(w, [&](WeightMatrix& m) {
    if (!kernels::can_pack(m)) return;
    auto [it, fresh] = packed.try_emplace(m.data);
    if (fresh) {
      const size_t n = size_t(m.n * m.k) * kernels::dtype_size(m.dtype);
      it->second = kernels::pack_weights(m, h->packed.take(n));
      w.packed_bytes += n;
      file_pages.release(m.data, n);  // at once: the peak holds one matrix twice, not the model
    }
    m = it->second;
  });
  if (tied(src)) w.embed = w.lm_head;
  return std::shared_ptr<const ModelWeights>(h, &h->weights);
}

void pack_in_place_for_cpu(ModelWeights& w) {
  if (w.cpu_packed) return;
  const bool was_tied = tied(w);
  std::map<const void*, WeightMatrix> packed;
  for_each_product_matrix(w, [&](WeightMatrix& m) {
    if (!kernels::can_pack(m)) return;
    auto [it, fresh] = packed.try_emplace(m.data);
    if (fresh) it->second = kernels::pack_weights(m, const_cast<void*>(m.data));
    m = it->second;
  });
  if (was_tied) w.embed = w.lm_head;
  w.cpu_packed = true;
}

}  // namespace moescope
