// Internal to kernels/cpu: the attention kernels built once per instruction set (isa.h), and
// what attention.cpp, which shares the work out over threads and chooses among them at run time,
// hands them. attention_kernels.h holds the kernels; attention_portable.cpp, attention_avx2.cpp,
// attention_avx512.cpp and attention_avx512bf16.cpp compile it into their own namespaces
// (matmul_variants.h says why each variant keeps its names to itself).
//
// Shape legend (attention.h): T query tokens at positions p0 .. p0+T-1, S = p0 + T visible keys,
// Hq query heads, Hkv KV heads, Dh head dim, Gq = Hq / Hkv query heads per KV head.
#pragma once

#include <cstdint>

#include "kernels/cpu/attention.h"

namespace moescope::kernels {

// One attention call, as the work items see it.
struct AttentionJob {
  const float* q;            // [T, Hq, Dh]
  const float* k;            // [S_max, Hkv, Dh]
  const float* v;            // [S_max, Hkv, Dh]
  const uint8_t* key_valid;  // [S] or null
  int64_t t, p0;
  AttentionParams params;
  float* o;      // [T, Hq, Dh]
  float* probs;  // [Hq, T, S] or null
  // Query tokens per work item: 1 (decode, or a variant without vectors), or a block of
  // kAttentionQueryBlock tokens whose logits are computed together (attention_items).
  int64_t query_block = 1;
};

// Query tokens per work item when T > 1: key rows are transposed once per block of them.
constexpr int64_t kAttentionQueryBlock = 16;

// Work items of a job: KV heads x blocks of query_block tokens.
inline int64_t attention_item_count(const AttentionJob& job) {
  return job.params.n_kv_heads * ((job.t + job.query_block - 1) / job.query_block);
}

// Runs work items [i0, i1) of job on the calling thread: item i is KV head i / B (B blocks per
// head) with a block of query_block query tokens (their Gq query heads together), the blocks of a
// head taken from both ends in turn so that equal ranges of items carry equal causal work.
using AttentionItemsFn = void (*)(const AttentionJob& job, int64_t i0, int64_t i1);

namespace isa_portable {
void attention_items(const AttentionJob& job, int64_t i0, int64_t i1);
}
#if defined(__x86_64__)
namespace isa_avx2 {
void attention_items(const AttentionJob& job, int64_t i0, int64_t i1);
}
namespace isa_avx512 {
void attention_items(const AttentionJob& job, int64_t i0, int64_t i1);
}
// The avx512 kernels with prefill's products in bf16 pairs (the Bf16 and Int8 activations modes,
// precision.h), on CPUs with AVX512-BF16.
namespace isa_avx512bf16 {
void attention_items(const AttentionJob& job, int64_t i0, int64_t i1);
}
#endif

}  // namespace moescope::kernels
