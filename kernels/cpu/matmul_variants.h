// Internal to kernels/cpu: the matmul kernels built once per instruction set (isa.h), and what
// matmul.cpp, which chooses among them at run time, shares with them.
//
// matmul_kernels.h holds the kernels; matmul_portable.cpp, matmul_avx2.cpp and matmul_avx512.cpp
// each compile it with their own flags into their own namespace (isa_portable, isa_avx2,
// isa_avx512), and matmul_amx.cpp adds the AMX prefill path. A variant's code must live in its
// namespace or have internal linkage: an inline function or template instantiation shared by name
// with another object file would be merged by the linker with one of the copies, possibly one
// compiled for wider registers than this CPU has (tests/kernels/check_kernel_variants.sh).
//
// Shape legend: T tokens (rows of x and y), K input features, N output features (rows of W).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/matmul.h"
#include "kernels/cpu/scratch.h"

namespace moescope::kernels {

// T above which matmul takes the prefill (blocked) path instead of converting weights in
// registers; measured: packing W costs about as much as ~20 rows of in-register conversion.
constexpr int64_t kDirectMaxT = 16;
// Threads split N into units of kBlockRows rows (a multiple of Packed4's four rows).
constexpr int64_t kBlockRows = 16;
// T*N*K multiply-adds below which waking threads costs more than it saves.
constexpr int64_t kMinParallel = 1 << 16;

// y[t0:t1, n0:n1] = (or += when accumulate) x[t0:t1] . W[n0:n1]^T on the calling thread; n0 is a
// multiple of four when w is packed.
using MatmulRangeFn = void (*)(const float* x, int64_t t0, int64_t t1, const WeightMatrix& w,
                               int64_t n0, int64_t n1, float* y, bool accumulate);

namespace isa_portable {
void matmul_range(const float* x, int64_t t0, int64_t t1, const WeightMatrix& w, int64_t n0,
                  int64_t n1, float* y, bool accumulate);
}

#if defined(__x86_64__)
namespace isa_avx2 {
void matmul_range(const float* x, int64_t t0, int64_t t1, const WeightMatrix& w, int64_t n0,
                  int64_t n1, float* y, bool accumulate);
}
namespace isa_avx512 {
void matmul_range(const float* x, int64_t t0, int64_t t1, const WeightMatrix& w, int64_t n0,
                  int64_t n1, float* y, bool accumulate);

// The prefill path of the Int8 activations mode (precision.h; matmul_int8x.h): x quantised once
// per call into int8 blocks, I8 weights multiplied by AVX512-VNNI integer dot products.
constexpr int kQ8Rows = 6;  // x rows per register tile
// x quantised: B = G * group_blocks blocks per row.
struct Int8X {
  uint32_t* quads = nullptr;  // [Tp / kQ8Rows][K / 4][kQ8Rows]: 4 int8 of x per word (tile order)
  float* step = nullptr;      // [T][B]: each block's step, max|x| / 127
  int32_t* bias = nullptr;    // [T][B]: -128 * sum(q), the block's integer sums' start, which
                              // takes off what w + 128 adds to them
  int64_t t = 0, k = 0, groups = 1, group_blocks = 0;
};
// Whether the path computes w: I8 elements, K and K / G multiples of 32.
bool int8x_supports(const WeightMatrix& w);
// Floats of the buffer int8x_layout lays out for T x K with G groups.
size_t int8x_floats(int64_t t, int64_t k, int64_t groups);
Int8X int8x_layout(int64_t t, int64_t k, int64_t groups, float* buf);
// Quantises rows [t0, t1) of x [T, K]; false when a block holds NaN or infinity or only values
// below 2^-100 (not all zero): the call must then take another path.
bool int8x_quantize_rows(const float* x, const Int8X& q, int64_t t0, int64_t t1);
// y[0:T, n0:n1] = (or += when accumulate) x . W[n0:n1]^T on the calling thread (x: all T rows
// quantised, with w's grouping).
void int8x_matmul_range(const Int8X& x, const WeightMatrix& w, int64_t n0, int64_t n1, float* y,
                        bool accumulate);
}  // namespace isa_avx512

// The prefill path of the Bf16 activations mode (precision.h; matmul_avx512bf16.cpp): x rounded
// to bf16 once per call, W's BF16 or I8 elements (exact in bf16) by AVX512-BF16 dot products.
namespace isa_avx512bf16 {
// Whether the path computes w: BF16 or I8 elements, K even, scale groups (G > 1) of a multiple of
// 16 columns.
bool supports(const WeightMatrix& w);
// Floats of the buffer round_rows fills for T x K (K even).
size_t rounded_x_floats(int64_t t, int64_t k);
// Rows [t0, t1) of x [T, K] rounded to bf16 (nearest even) into xb, in the kernel's tile order
// (bf16 pairs of 12-row blocks: [T / 12][K / 2][12]).
void round_rows(const float* x, int64_t t0, int64_t t1, int64_t k, uint16_t* xb);
// y[0:T, n0:n1] = (or += when accumulate) xb . W[n0:n1]^T on the calling thread (xb: all T rows
// rounded).
void matmul_range(const uint16_t* xb, int64_t t, const WeightMatrix& w, int64_t n0, int64_t n1,
                  float* y, bool accumulate);
}  // namespace isa_avx512bf16

// The AMX prefill path (matmul_amx.cpp). x is split once per call into three bf16 parts
// (hi + mid + lo = x to f32 precision), and W's elements, exact in bf16, are multiplied against
// each part on the tile unit with f32 accumulation.
namespace isa_amx {
// x split for the tiles: three parts of [Tp, Kp] bf16, Tp = T rounded up to 16, Kp = K rounded
// up to 32, zero padded.
struct SplitX {
  uint16_t* parts = nullptr;  // [3][Tp][Kp]
  int64_t t = 0, tp = 0, k = 0, kp = 0;
};
// Whether the AMX path computes w: BF16, I8 or F8_E4M3 elements (exact in bf16), N >= 32, and
// scale groups (when G > 1) of a multiple of 32 columns.
bool supports(const WeightMatrix& w);
// Bytes of the parts for T x K.
size_t split_bytes(int64_t t, int64_t k);
// The parts of a T x K x in buf (split_bytes(t, k) bytes).
SplitX split_layout(int64_t t, int64_t k, uint16_t* buf);
// Writes rows [t0, t1) of x's parts (the padding columns too); the call that reaches T zeroes
// the padding rows [T, Tp).
void split_rows(const float* x, const SplitX& s, int64_t t0, int64_t t1);
// y[0:T, n0:n1] = (or += when accumulate) x . W[n0:n1]^T on the calling thread.
void matmul_range(const SplitX& x, const WeightMatrix& w, int64_t n0, int64_t n1, float* y,
                  bool accumulate);
}  // namespace isa_amx
#endif

}  // namespace moescope::kernels
