// CPU kernel benchmarks (Google Benchmark): matmul at K = N = 1024 for F32, BF16 and I8 weights,
// decode (T = 1) and prefill (T = 64), on 1 and 2 threads.
//
// Build and run: ninja -C build bench_kernels && ./build/tests/bench/bench_kernels
// (on a busy machine add --benchmark_repetitions=10 and read the _median rows).
// Counters: weights = weight bytes read per second (what bounds decode), flops = 2*T*N*K per
// second (what bounds prefill). Times are reported, never asserted.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cpu/matmul.h"
#include "kernels/cpu/thread_pool.h"

namespace moescope::kernels {
namespace {

constexpr int64_t kK = 1024, kN = 1024;

// Random weights of dtype, [N, K]; I8 gets one scale per row.
struct Weights {
  std::vector<uint8_t> bytes;
  std::vector<float> scales;
  WeightMatrix w;
};

Weights make_weights(DType dtype) {
  Weights o;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  const size_t count = size_t(kN * kK);
  o.bytes.resize(count * dtype_size(dtype));
  for (size_t i = 0; i < count; ++i) {
    const float v = unit(rng);
    if (dtype == DType::F32) reinterpret_cast<float*>(o.bytes.data())[i] = v;
    if (dtype == DType::BF16) reinterpret_cast<uint16_t*>(o.bytes.data())[i] = f32_to_bf16(v);
    if (dtype == DType::I8) reinterpret_cast<int8_t*>(o.bytes.data())[i] = int8_t(v * 127.0f);
  }
  o.w.dtype = dtype;
  o.w.data = o.bytes.data();
  o.w.n = kN;
  o.w.k = kK;
  if (dtype == DType::I8) {
    o.scales.assign(size_t(kN), 1.0f / 127.0f);
    o.w.scales = o.scales.data();
  }
  return o;
}

// state.range(0) = T, state.range(1) = threads.
template <DType kDtype>
void BM_Matmul(benchmark::State& state) {
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

void matmul_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"T", "threads"});
  for (int64_t t : {1, 64})
    for (int64_t threads : {1, 2}) b->Args({t, threads});
  b->UseRealTime();  // several threads work; the caller's CPU time alone would mislead
}

BENCHMARK(BM_Matmul<DType::F32>)->Apply(matmul_args);
BENCHMARK(BM_Matmul<DType::BF16>)->Apply(matmul_args);
BENCHMARK(BM_Matmul<DType::I8>)->Apply(matmul_args);

}  // namespace
}  // namespace moescope::kernels

BENCHMARK_MAIN();
