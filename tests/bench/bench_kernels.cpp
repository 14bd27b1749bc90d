// CPU kernel benchmarks (Google Benchmark): matmul at K = N = 1024 for F32, BF16 and I8 weights,
// decode (T = 1) and prefill (T = 64, 128: an expert's share of a 512-token prompt), on 1 and 2
// threads, on every instruction-set variant this CPU runs (isa.h), and with the avx512 kernels in
// every activations mode (precision.h: act 0 f32, 1 bf16, 2 int8); decode streaming many
// matrices from the caches and from DRAM; prefill through expert matrices from DRAM; attention
// for one decode step over a long cache, and over a whole 512-token prompt.
//
// Build and run: ninja -C build bench_kernels && ./build/tests/bench/bench_kernels
// (on a busy machine add --benchmark_repetitions=10 and read the _median rows).
// Counters: weights = weight bytes read per second (what bounds decode), flops = 2*T*N*K per
// second (what bounds prefill). Times are reported, never asserted.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <random>
#include <vector>

#include "engine/weights/weight_arena.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/precision.h"
#include "kernels/cpu/thread_pool.h"
#include "kernels/cpu/weight_packing.h"

namespace moescope::kernels {
namespace {

constexpr int64_t kK = 1024, kN = 1024;

// Random weights of dtype, [N, K], packed; I8 gets one scale per row.
struct Weights {
  std::unique_ptr<WeightArena> arena;  // the matrix's bytes, on huge pages as the engine's
  uint8_t* bytes = nullptr;
  std::vector<float> scales;
  WeightMatrix w;
};

Weights make_weights(DType dtype, int64_t n = kN, int64_t k = kK, uint32_t seed = 1) {
  Weights o;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  const size_t count = size_t(n * k);
  o.arena = std::make_unique<WeightArena>(count * dtype_size(dtype));
  o.bytes = static_cast<uint8_t*>(o.arena->take(count * dtype_size(dtype)));
  for (size_t i = 0; i < count; ++i) {
    const float v = unit(rng);
    if (dtype == DType::F32) reinterpret_cast<float*>(o.bytes)[i] = v;
    if (dtype == DType::BF16) reinterpret_cast<uint16_t*>(o.bytes)[i] = f32_to_bf16(v);
    if (dtype == DType::I8) reinterpret_cast<int8_t*>(o.bytes)[i] = int8_t(v * 127.0f);
  }
  o.w.dtype = dtype;
  o.w.data = o.bytes;
  o.w.n = n;
  o.w.k = k;
  if (dtype == DType::I8) {
    o.scales.assign(size_t(n), 1.0f / 127.0f);
    o.w.scales = o.scales.data();
  }
  // In the layout the engine streams (weight_packing.h), as the Model packs them at load.
  if (can_pack(o.w)) o.w = pack_weights(o.w, o.bytes);
  return o;
}

// state.range(0) = T, state.range(1) = threads, state.range(2) = the Isa, state.range(3) = the
// Activations mode.
template <DType kDtype>
void BM_Matmul(benchmark::State& state) {
  const Isa isa = Isa(state.range(2));
  if (isa > detected_isa()) {
    state.SkipWithError("this instruction set is not available here");
    return;
  }
  ScopedIsa scoped(isa);
  ScopedActivations activations(Activations(state.range(3)));
  const int64_t t = state.range(0);
  ThreadPool pool(int(state.range(1)));
  Weights weights = make_weights(kDtype);
  std::vector<float> x(size_t(t * kK)), y(size_t(t * kN));
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  for (float& v : x) v = unit(rng);
  for (auto _ : state) {
    matmul(x.data(), t, weights.w, y.data(), &pool);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const double weight_bytes = double(kN * kK * int64_t(dtype_size(kDtype)));
  state.counters["weights"] = benchmark::Counter(
      weight_bytes, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  state.counters["flops"] =
      benchmark::Counter(2.0 * double(t * kN * kK), benchmark::Counter::kIsIterationInvariantRate,
                         benchmark::Counter::kIs1000);
}

// The modes that change the kernels of weights of dtype d on the avx512 level (precision.h).
std::vector<Activations> modes_for(DType d) {
  std::vector<Activations> modes{Activations::F32};
  if (d != DType::F32 && cpu_has_avx512_bf16()) modes.push_back(Activations::Bf16);
  if (d == DType::I8) modes.push_back(Activations::Int8);
  return modes;
}

template <DType kDtype>
void matmul_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"T", "threads", "isa", "act"});
  for (int64_t t : {1, 64, 128})
    for (int64_t threads : {1, 2})
      for (Isa isa : {Isa::Avx2, Isa::Avx512, Isa::Amx}) {
        if (isa > detected_isa()) continue;
        for (Activations a : modes_for(kDtype))
          if (a == Activations::F32 || isa == Isa::Avx512)
            b->Args({t, threads, int64_t(isa), int64_t(a)});
      }
  b->UseRealTime();  // several threads work; the caller's CPU time alone would mislead
}

BENCHMARK(BM_Matmul<DType::F32>)->Apply(matmul_args<DType::F32>);
BENCHMARK(BM_Matmul<DType::BF16>)->Apply(matmul_args<DType::BF16>);
BENCHMARK(BM_Matmul<DType::I8>)->Apply(matmul_args<DType::I8>);

// Decode through many matrices, as a token reads its experts, one x row each, one thread:
// shape 0 = 64 matrices of 512 x 256 (tinyA's experts; 8-32 MB, past L2, in the last-level
// cache), shape 1 = 24 matrices of 2816 x 1024 (tinyC's; 69-277 MB, from DRAM).
// state.range: the Isa, the shape, the Activations mode.
template <DType kDtype>
void BM_DecodeStream(benchmark::State& state) {
  const Isa isa = Isa(state.range(0));
  if (isa > detected_isa()) {
    state.SkipWithError("this instruction set is not available here");
    return;
  }
  ScopedIsa scoped(isa);
  ScopedActivations activations(Activations(state.range(2)));
  const bool dram = state.range(1) == 1;
  const int64_t matrices = dram ? 24 : 64, rows = dram ? 2816 : 512, cols = dram ? 1024 : 256;
  std::vector<Weights> weights;
  for (int64_t i = 0; i < matrices; ++i)
    weights.push_back(make_weights(kDtype, rows, cols, uint32_t(i + 1)));
  std::vector<float> x(static_cast<size_t>(cols)), y(static_cast<size_t>(rows));
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  for (float& v : x) v = unit(rng);
  for (auto _ : state) {
    for (const Weights& w : weights) matmul(x.data(), 1, w.w, y.data(), nullptr);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["weights"] = benchmark::Counter(
      double(matrices * rows * cols * int64_t(dtype_size(kDtype))),
      benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

template <DType kDtype>
void stream_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"isa", "dram", "act"});
  for (int64_t dram : {0, 1})
    for (Isa isa : {Isa::Avx2, Isa::Avx512}) {
      if (isa > detected_isa()) continue;
      for (Activations a : modes_for(kDtype))
        if (a == Activations::F32 || isa == Isa::Avx512) b->Args({int64_t(isa), dram, int64_t(a)});
    }
}

BENCHMARK(BM_DecodeStream<DType::F32>)->Apply(stream_args<DType::F32>);
BENCHMARK(BM_DecodeStream<DType::BF16>)->Apply(stream_args<DType::BF16>);
BENCHMARK(BM_DecodeStream<DType::I8>)->Apply(stream_args<DType::I8>);

// Prefill through expert matrices from DRAM, as a 512-token prompt's layer reads them: 16
// matrices of 5632 x 1024 (tinyC's gate and up projections, 92-369 MB), each against its
// expert's share of the prompt (T = 128 rows of x), one thread. Unlike BM_Matmul, whose 1 MB
// matrix stays in the caches, the GEMM's weight panels come from memory here.
// state.range: the Activations mode.
template <DType kDtype>
void BM_PrefillStream(benchmark::State& state) {
  ScopedActivations activations(Activations(state.range(0)));
  constexpr int64_t kMatrices = 16, kRows = 5632, kCols = 1024, kT = 128;
  std::vector<Weights> weights;
  for (int64_t i = 0; i < kMatrices; ++i)
    weights.push_back(make_weights(kDtype, kRows, kCols, uint32_t(i + 1)));
  std::vector<float> x(size_t(kT * kCols)), y(size_t(kT * kRows));
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  for (float& v : x) v = unit(rng);
  for (auto _ : state) {
    for (const Weights& w : weights) matmul(x.data(), kT, w.w, y.data(), nullptr);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["flops"] = benchmark::Counter(2.0 * double(kMatrices * kT * kRows * kCols),
                                               benchmark::Counter::kIsIterationInvariantRate,
                                               benchmark::Counter::kIs1000);
}

template <DType kDtype>
void prefill_stream_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"act"});
  for (Activations a : modes_for(kDtype)) b->Args({int64_t(a)});
  b->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_PrefillStream<DType::BF16>)->Apply(prefill_stream_args<DType::BF16>);
BENCHMARK(BM_PrefillStream<DType::I8>)->Apply(prefill_stream_args<DType::I8>);

// Fills each vector with values uniform in [-1, 1) from seed.
void fill_unit(uint32_t seed, std::initializer_list<std::vector<float>*> vectors) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  for (std::vector<float>* a : vectors)
    for (float& x : *a) x = unit(rng);
}

// Grok-1's attention (soft-cap 30) for hq query heads on hkv KV heads of head dim dh.
AttentionParams softcapped(int64_t hq, int64_t hkv, int64_t dh, float logit_multiplier) {
  AttentionParams p;
  p.n_q_heads = hq;
  p.n_kv_heads = hkv;
  p.head_dim = dh;
  p.logit_multiplier = logit_multiplier;
  p.softcap = 30.0f;
  return p;
}

// One decode step of attention (T = 1) over S cached keys with Grok-1's soft-cap, 8 query heads
// on 2 KV heads of head dim Dh (tiny-grok1's shape at Dh = 32). state.range: S, Dh, threads.
void BM_AttentionDecode(benchmark::State& state) {
  const int64_t s = state.range(0), dh = state.range(1), hq = 8, hkv = 2;
  ThreadPool pool(int(state.range(2)));
  std::vector<float> q(size_t(hq * dh)), k(size_t(s * hkv * dh)), v(k.size()), o(q.size());
  fill_unit(3, {&q, &k, &v});
  const AttentionParams p = softcapped(hq, hkv, dh, 0.08838834764831845f);
  for (auto _ : state) {
    attention(q.data(), k.data(), v.data(), nullptr, 1, s - 1, p, o.data(), nullptr, &pool);
    benchmark::DoNotOptimize(o.data());
  }
  // q.k and p.v: 2 multiply-adds per key, head and dimension.
  state.counters["flops"] =
      benchmark::Counter(4.0 * double(s * hq * dh), benchmark::Counter::kIsIterationInvariantRate,
                         benchmark::Counter::kIs1000);
}
BENCHMARK(BM_AttentionDecode)
    ->ArgNames({"S", "Dh", "threads"})
    ->Args({512, 32, 1})
    ->Args({8192, 32, 1})
    ->Args({8192, 128, 1})
    ->Args({8192, 32, 2})
    ->UseRealTime();

// Attention over a whole prompt (prefill, T = S, from an empty cache) with Grok-1's soft-cap, Hq
// query heads on Hkv KV heads of head dim Dh (tinyC's shape: 16 on 4, Dh 64; tinyA's: 8 on 2,
// Dh 32). state.range: T, Hq, Hkv, Dh, threads, the Activations mode (bf16 and int8 multiply in
// bf16 pairs where the CPU has AVX512-BF16). Counter flops: the causal products only (q.k and p.v
// over the keys each token sees).
void BM_AttentionPrefill(benchmark::State& state) {
  const int64_t t = state.range(0), hq = state.range(1), hkv = state.range(2), dh = state.range(3);
  ThreadPool pool(int(state.range(4)));
  ScopedActivations activations(Activations(state.range(5)));
  std::vector<float> q(size_t(t * hq * dh)), k(size_t(t * hkv * dh)), v(k.size()), o(q.size());
  fill_unit(4, {&q, &k, &v});
  const AttentionParams p = softcapped(hq, hkv, dh, 1.0f / std::sqrt(float(dh)));
  for (auto _ : state) {
    attention(q.data(), k.data(), v.data(), nullptr, t, 0, p, o.data(), nullptr, &pool);
    benchmark::DoNotOptimize(o.data());
  }
  const double keys = double(t) * double(t + 1) / 2.0;  // token i sees i + 1 keys
  state.counters["flops"] = benchmark::Counter(4.0 * keys * double(hq * dh),
                                               benchmark::Counter::kIsIterationInvariantRate,
                                               benchmark::Counter::kIs1000);
}
BENCHMARK(BM_AttentionPrefill)
    ->ArgNames({"T", "Hq", "Hkv", "Dh", "threads", "act"})
    ->Args({512, 16, 4, 64, 1, 0})
    ->Args({512, 8, 2, 32, 1, 0})
    ->Args({512, 16, 4, 64, 2, 0})
    ->Args({512, 16, 4, 64, 1, 1})
    ->Args({512, 8, 2, 32, 1, 1})
    ->Args({512, 16, 4, 64, 2, 1})
    ->UseRealTime();

}  // namespace
}  // namespace moescope::kernels

BENCHMARK_MAIN();
