// Internal to kernels/cpu: the attention kernels built once per instruction set (isa.h), and
// what attention.cpp, which shares the work out over threads and chooses among them at run time,
// hands them. attention_kernels.h holds the kernels; attention_portable.cpp, attention_avx2.cpp
// and attention_avx512.cpp compile it into their own namespaces (matmul_variants.h says why each
// variant keeps its names to itself).
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
};

// Runs work items [i0, i1) of job: item i is KV head i / T with query token i % T (its Gq query
// heads together), on the calling thread.
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
#endif

}  // namespace moescope::kernels
