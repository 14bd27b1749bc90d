// Causal grouped-query attention (attention.h): the work items shared out over the thread pool and
// run by the instruction-set variant active now (isa.h, attention_variants.h).
#include "kernels/cpu/attention.h"

#include <cassert>

#include "kernels/cpu/attention_variants.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/precision.h"

namespace moescope::kernels {

namespace {

constexpr int64_t kMinParallel = 1 << 15;  // Hq*T*S*Dh below which one thread is faster

AttentionItemsFn items_for(Isa isa) {
#if defined(__x86_64__)
  switch (isa) {
    case Isa::Amx:  // no tile path of its own
    case Isa::Avx512:
      return isa_avx512::attention_items;
    case Isa::Avx2:
      return isa_avx2::attention_items;
    case Isa::Portable:
      break;
  }
#else
  (void)isa;
#endif
  return isa_portable::attention_items;
}

}  // namespace

void attention(const float* q, const float* k, const float* v, const uint8_t* key_valid, int64_t t,
               int64_t p0, const AttentionParams& params, float* o, float* probs,
               ThreadPool* pool) {
  const int64_t hq_n = params.n_q_heads, dh = params.head_dim;
  assert(hq_n > 0 && params.n_kv_heads > 0 && hq_n % params.n_kv_heads == 0 && dh > 0 && t >= 0 &&
         p0 >= 0);
  // L = 1 would divide by log2(1) = 0.
  assert(params.temperature_len == 0 || params.temperature_len >= 2);
  const Isa isa = active_isa();
  AttentionJob job{q, k, v, key_valid, t, p0, params, o, probs};
  // Prefill takes query tokens in blocks, on 16 lanes (on 8, the per-token tiles measured a
  // little faster: tinyA prefill attention 37 against 40 us per token); decode one at a time.
  if (t > 1 && isa >= Isa::Avx512) job.query_block = kAttentionQueryBlock;
  AttentionItemsFn items = items_for(isa);
#if defined(__x86_64__)
  // Prefill in the Bf16 and Int8 modes multiplies in bf16 pairs where the CPU can (not on the AMX
  // level, whose modes change nothing: precision.h); decode (one row per key, bound by reading the
  // cache) stays f32 in every mode.
  if (job.query_block > 1 && isa == Isa::Avx512 && bf16_activations_effective())
    items = isa_avx512bf16::attention_items;
#endif
  const int64_t n_items = attention_item_count(job), s_n = p0 + t;
  if (!pool || hq_n * t * s_n * dh < kMinParallel) {
    items(job, 0, n_items);
  } else {
    pool->parallel_for(n_items, [&](int64_t i0, int64_t i1) { items(job, i0, i1); });
  }
}

}  // namespace moescope::kernels
