// y[T, N] = x[T, K] . W^T: the engine's entry to the matmul kernels, which it runs on the thread
// pool in the instruction-set variant active now (isa.h, matmul_variants.h).
//
// Shape legend: T tokens (rows of x and y), K input features, N output features (rows of W).
//
// Threads split N in blocks of kBlockRows rows; when N is too small to share (the router), they
// split T instead. On the AMX path x is split into its bf16 parts once per call (threads share T),
// then threads split N in blocks of 32 columns, the tile unit's width; the Bf16 activations path
// (precision.h) rounds x to bf16 once per call and shares N the same way, and so does the Int8
// activations prefill path, which quantises x to int8 blocks.
#include <algorithm>
#include <atomic>
#include <cassert>

#include "kernels/cpu/isa.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/matmul_variants.h"
#include "kernels/cpu/precision.h"
#include "kernels/cpu/weight_packing.h"

namespace moescope::kernels {

namespace {

// Calls f(output, n0, n1) for the column ranges of every output that blocks [b0, b1) cover, the
// outputs' blocks of `unit` columns numbered one after another (one parallel loop over several
// products of one x).
template <class F>
void for_each_output_range(std::span<const MatmulOutput> outs, int64_t unit, int64_t b0, int64_t b1,
                           F&& f) {
  int64_t first = 0;  // the first block of the output
  for (const MatmulOutput& o : outs) {
    const int64_t n = o.w->n, count = (n + unit - 1) / unit;
    const int64_t lo = std::max(b0, first), hi = std::min(b1, first + count);
    if (lo < hi) f(o, (lo - first) * unit, std::min(n, (hi - first) * unit));
    first += count;
  }
}

MatmulRangeFn range_for(Isa isa) {
#if defined(__x86_64__)
  switch (isa) {
    case Isa::Amx:  // its decode path and the weights it does not take are AVX-512's
    case Isa::Avx512:
      return isa_avx512::matmul_range;
    case Isa::Avx2:
      return isa_avx2::matmul_range;
    case Isa::Portable:
      break;
  }
#else
  (void)isa;
#endif
  return isa_portable::matmul_range;
}

#if defined(__x86_64__)
// The AMX width: threads split N in blocks of this many columns.
constexpr int64_t kAmxBlock = 32;

// Whether every output takes the AMX path.
bool amx_takes(Isa isa, int64_t t, std::span<const MatmulOutput> outs) {
  if (isa != Isa::Amx || t <= kDirectMaxT) return false;
  for (const MatmulOutput& o : outs)
    if (!isa_amx::supports(*o.w)) return false;
  return true;
}

// The paths that prepare x once per call: prepare(t0, t1) converts rows [t0, t1) (threads share
// T), then share_outputs runs the products.
template <class Prepare>
void prepare_x(int64_t t, ThreadPool* pool, Prepare&& prepare) {
  if (pool && pool->size() > 1 && t >= 2 * pool->size()) {
    pool->parallel_for(t, prepare);
  } else {
    prepare(0, t);
  }
}

// Threads share the outputs' blocks of kAmxBlock columns, run(output, n0, n1) each.
template <class Run>
void share_outputs(std::span<const MatmulOutput> outs, ThreadPool* pool, Run&& run) {
  int64_t blocks = 0;
  for (const MatmulOutput& o : outs) blocks += (o.w->n + kAmxBlock - 1) / kAmxBlock;
  auto share = [&](int64_t b0, int64_t b1) { for_each_output_range(outs, kAmxBlock, b0, b1, run); };
  if (pool && pool->size() > 1) {
    pool->parallel_for(blocks, share);
  } else {
    share(0, blocks);
  }
}

template <class Prepare, class Run>
void with_prepared_x(int64_t t, std::span<const MatmulOutput> outs, ThreadPool* pool,
                     Prepare&& prepare, Run&& run) {
  prepare_x(t, pool, prepare);
  share_outputs(outs, pool, run);
}

// y_i = (or += when accumulate) x . W_i^T for every output on the AMX path: x split into its
// bf16 parts.
void matmul_amx(const float* x, int64_t t, std::span<const MatmulOutput> outs, ThreadPool* pool,
                bool accumulate) {
  const int64_t K = outs[0].w->k;
  const size_t bytes = isa_amx::split_bytes(t, K);
  auto* buf = reinterpret_cast<uint16_t*>(
      thread_scratch(ScratchSlot::AmxX, (bytes + sizeof(float) - 1) / sizeof(float)));
  const isa_amx::SplitX split = isa_amx::split_layout(t, K, buf);
  with_prepared_x(
      t, outs, pool, [&](int64_t t0, int64_t t1) { isa_amx::split_rows(x, split, t0, t1); },
      [&](const MatmulOutput& o, int64_t n0, int64_t n1) {
        isa_amx::matmul_range(split, *o.w, n0, n1, o.y, accumulate);
      });
}

// Whether every output takes the Int8 activations prefill path (precision.h), with one grouping.
bool int8_takes(int64_t t, std::span<const MatmulOutput> outs) {
  if (t <= kDirectMaxT || !int8_activations_effective()) return false;
  for (const MatmulOutput& o : outs)
    if (!isa_avx512::int8x_supports(*o.w) || o.w->scale_groups() != outs[0].w->scale_groups())
      return false;
  return true;
}

// y_i = (or += when accumulate) q8(x) . W_i^T for every output on the Int8 activations prefill
// path: x quantised to int8 blocks. False, with y untouched, when a row of x cannot be quantised
// (NaN, infinity, only values below 2^-100): the caller takes another path.
bool matmul_int8(const float* x, int64_t t, std::span<const MatmulOutput> outs, ThreadPool* pool,
                 bool accumulate) {
  const int64_t K = outs[0].w->k, groups = outs[0].w->scale_groups();
  const isa_avx512::Int8X q = isa_avx512::int8x_layout(
      t, K, groups, thread_scratch(ScratchSlot::Int8X, isa_avx512::int8x_floats(t, K, groups)));
  std::atomic<bool> ok{true};
  prepare_x(t, pool, [&](int64_t t0, int64_t t1) {
    if (!isa_avx512::int8x_quantize_rows(x, q, t0, t1)) ok.store(false, std::memory_order_relaxed);
  });
  if (!ok.load()) return false;
  share_outputs(outs, pool, [&](const MatmulOutput& o, int64_t n0, int64_t n1) {
    isa_avx512::int8x_matmul_range(q, *o.w, n0, n1, o.y, accumulate);
  });
  return true;
}

// Whether every output takes the Bf16 activations path (precision.h).
bool bf16_takes(int64_t t, std::span<const MatmulOutput> outs) {
  if (t <= kDirectMaxT || !bf16_activations_effective()) return false;
  for (const MatmulOutput& o : outs)
    if (!isa_avx512bf16::supports(*o.w)) return false;
  return true;
}

// y_i = (or += when accumulate) bf16(x) . W_i^T for every output on the Bf16 activations path:
// x rounded to bf16.
void matmul_bf16(const float* x, int64_t t, std::span<const MatmulOutput> outs, ThreadPool* pool,
                 bool accumulate) {
  const int64_t K = outs[0].w->k;
  auto* xb = reinterpret_cast<uint16_t*>(
      thread_scratch(ScratchSlot::Bf16X, isa_avx512bf16::rounded_x_floats(t, K)));
  with_prepared_x(
      t, outs, pool, [&](int64_t t0, int64_t t1) { isa_avx512bf16::round_rows(x, t0, t1, K, xb); },
      [&](const MatmulOutput& o, int64_t n0, int64_t n1) {
        isa_avx512bf16::matmul_range(xb, t, *o.w, n0, n1, o.y, accumulate);
      });
}

// y_i = (or += when accumulate) x . W_i^T on the first path that prepares x once per call and
// takes every output: AMX (exact), then the Int8 and the Bf16 activations paths (precision.h).
// False when none does (or the Int8 path could not quantise x): the caller's kernels run.
bool matmul_prepared_x(Isa isa, const float* x, int64_t t, std::span<const MatmulOutput> outs,
                       ThreadPool* pool, bool accumulate) {
  if (amx_takes(isa, t, outs)) {
    matmul_amx(x, t, outs, pool, accumulate);
    return true;
  }
  if (int8_takes(t, outs) && matmul_int8(x, t, outs, pool, accumulate)) return true;
  if (bf16_takes(t, outs)) {
    matmul_bf16(x, t, outs, pool, accumulate);
    return true;
  }
  return false;
}
#endif

}  // namespace

void matmul(const float* x, int64_t t, const WeightMatrix& w, float* y, ThreadPool* pool,
            bool accumulate) {
  assert(w.data && w.groups >= 1 && w.k % w.groups == 0);
  assert(w.dtype != DType::I8 || w.scales);
  const int64_t N = w.n, K = w.k;
  if (t <= 0 || N <= 0) return;
  if (K == 0) {  // empty dot products
    if (!accumulate) std::fill(y, y + t * N, 0.0f);
    return;
  }
  const Isa isa = active_isa();
#if defined(__x86_64__)
  if (const MatmulOutput out{&w, y}; matmul_prepared_x(isa, x, t, {&out, 1}, pool, accumulate))
    return;
#endif
  const MatmulRangeFn matmul_range = range_for(isa);
  const int threads = pool ? pool->size() : 1;
  if (threads == 1 || t * N * K < kMinParallel) {
    matmul_range(x, 0, t, w, 0, N, y, accumulate);
    return;
  }
  static_assert(kBlockRows % kPackRows == 0, "thread splits keep packed blocks whole");
  const int64_t n_blocks = (N + kBlockRows - 1) / kBlockRows;
  if (n_blocks >= 4 * threads || t < 2 * threads) {
    pool->parallel_for(n_blocks, [&](int64_t b0, int64_t b1) {
      matmul_range(x, 0, t, w, b0 * kBlockRows, std::min(N, b1 * kBlockRows), y, accumulate);
    });
  } else {
    // Few output rows (e.g. the router's N = E): every thread takes all of W and a share of T.
    pool->parallel_for(
        t, [&](int64_t t0, int64_t t1) { matmul_range(x, t0, t1, w, 0, N, y, accumulate); });
  }
}

void matmul_shared_x(const float* x, int64_t t, std::span<const MatmulOutput> outs,
                     ThreadPool* pool) {
  const Isa isa = active_isa();
#if defined(__x86_64__)
  if (!outs.empty() && outs[0].w->k > 0 && matmul_prepared_x(isa, x, t, outs, pool, false)) return;
#endif
  const MatmulRangeFn matmul_range = range_for(isa);
  const int threads = pool ? pool->size() : 1;
  int64_t total_blocks = 0, work = 0;
  for (const MatmulOutput& o : outs) {
    assert(o.w->k == outs[0].w->k && "one x: every weight has its K");
    total_blocks += (o.w->n + kBlockRows - 1) / kBlockRows;
    work += t * o.w->n * o.w->k;
  }
  // One loop over the row blocks of every output: one wake-up and one join instead of one per
  // matrix. Too little work, or too few blocks to share, goes the single-matrix way.
  if (threads == 1 || work < kMinParallel || total_blocks < 4 * threads || t == 0 ||
      outs[0].w->k == 0) {
    for (const MatmulOutput& o : outs) matmul(x, t, *o.w, o.y, pool);
    return;
  }
  pool->parallel_for(total_blocks, [&](int64_t b0, int64_t b1) {
    for_each_output_range(outs, kBlockRows, b0, b1,
                          [&](const MatmulOutput& o, int64_t n0, int64_t n1) {
                            matmul_range(x, 0, t, *o.w, n0, n1, o.y, false);
                          });
  });
}

}  // namespace moescope::kernels
