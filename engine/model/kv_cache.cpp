#include "engine/model/kv_cache.h"

#include "engine/core/error.h"

namespace moescope {

KvCache::KvCache(const ModelConfig& c, int64_t capacity) : capacity_(capacity) {
  if (capacity <= 0 || capacity > c.max_seq_len)
    fail("KV cache capacity ", capacity, " is outside [1, ", c.max_seq_len,
         "] (the model's context, max_position_embeddings)");
  layer_stride_ = size_t(capacity) * size_t(c.n_kv_heads * c.head_dim);
  k_.assign(layer_stride_ * size_t(c.n_layers), 0.0f);
  v_.assign(layer_stride_ * size_t(c.n_layers), 0.0f);
  valid_.assign(size_t(capacity), 0);
}

void KvCache::set_length(int64_t n) {
  if (n < 0 || n > length_) fail("KV cache: cannot set length ", n, " (holds ", length_, ")");
  length_ = n;
}

}  // namespace moescope
