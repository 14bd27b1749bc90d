// The ceilings benchmarks. Each rate is the best of several repetitions (the ceiling is what the
// machine can do, so the fastest run is the estimate; slower ones measured interference).
//   read bandwidth  = array bytes / seconds to sum a large array (10^9 bytes per GB); the array
//                     is several times any last-level cache, read as 64-bit integers so the
//                     reduction vectorises without reassociating floats
//   GEMM rate       = 2 T K N / seconds of kernels::matmul on y[T, N] = x[T, K] W^T,
//                     T = 256, K = N = 1024 (10^9 flops per GFLOP), with F32 weights and with
//                     BF16 weights (the AMX path where the CPU has it), in the kernels' active
//                     instruction set
#include "app/cli/bench_ceilings.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "app/cli/common_options.h"
#include "engine/core/error.h"
#include "engine/session/machine_info.h"
#include "engine/weights/weight_arena.h"
#include "inspectors/analysis/ceilings.h"
#include "kernels/cpu/dtype.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/precision.h"
#include "kernels/cpu/thread_pool.h"
#include "kernels/cpu/weight_packing.h"

namespace moescope::app {

namespace {

using clock_type = std::chrono::steady_clock;
constexpr int kRepeats = 5;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// Sum of words [begin, end): eight independent lanes the compiler turns into vector adds.
uint64_t sum_words(const uint64_t* a, int64_t begin, int64_t end) {
  uint64_t s[8] = {};
  int64_t i = begin;
  for (; i + 8 <= end; i += 8)
    for (int l = 0; l < 8; ++l) s[l] += a[i + l];
  for (; i < end; ++i) s[0] += a[i];
  return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}

double read_gbps(const uint64_t* a, int64_t n, int threads) {
  kernels::ThreadPool pool(threads);
  std::atomic<uint64_t> total{0};  // keeps the sums alive; one add per chunk
  double best = 0;
  for (int r = 0; r < kRepeats; ++r) {
    const auto t0 = clock_type::now();
    pool.parallel_for(
        n, [&](int64_t b, int64_t e) { total.fetch_add(sum_words(a, b, e)); }, n / threads);
    best = std::max(best, double(n) * 8.0 / seconds_since(t0) / 1e9);
  }
  if (total.load() != uint64_t(n) * kRepeats)  // every word is 1: a lost chunk is a bug
    fail("memory read benchmark summed ", total.load(), " (expected ", uint64_t(n) * kRepeats, ")");
  return best;
}

// The read benchmark's input: array_mb MiB of ones on huge pages, as the weights are
// (weight_arena.h), written once with non-zero values so every page is really mapped before timing.
struct ReadArray {
  WeightArena arena;
  int64_t words;
  const uint64_t* a;
  explicit ReadArray(int64_t array_mb) : words(array_mb << 17) {
    auto* p = static_cast<uint64_t*>(arena.take(size_t(words) * sizeof(uint64_t)));
    std::fill(p, p + words, uint64_t(1));
    a = p;
  }
  double gbps(int threads) const { return read_gbps(a, words, threads); }
};

double gemm_gflops(int threads, int64_t T, int64_t K, int64_t N, kernels::DType dtype) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> w(size_t(N * K)), x(size_t(T * K)), y(size_t(T * N));
  for (float& v : w) v = normal(rng);
  for (float& v : x) v = normal(rng);
  std::vector<uint16_t> w16;
  if (dtype == kernels::DType::BF16) {
    w16.resize(w.size());
    kernels::convert_from_f32(w.data(), dtype, w16.data(), w.size());
  }
  // I8: the normal values at 32 steps per unit, one scale per row.
  std::vector<int8_t> w8;
  std::vector<float> scales;
  if (dtype == kernels::DType::I8) {
    w8.resize(w.size());
    for (size_t i = 0; i < w.size(); ++i)
      w8[i] = int8_t(std::clamp(std::lround(w[i] * 32.0f), -127L, 127L));
    scales.assign(size_t(N), 1.0f / 32.0f);
  }
  kernels::WeightMatrix wm;
  wm.dtype = dtype;
  wm.data = !w16.empty()  ? static_cast<const void*>(w16.data())
            : !w8.empty() ? static_cast<const void*>(w8.data())
                          : static_cast<const void*>(w.data());
  wm.n = N;
  wm.k = K;
  if (!scales.empty()) wm.scales = scales.data();
  // Packed as the engine packs its weights at load (kernels/cpu/weight_packing.h).
  if (kernels::can_pack(wm)) wm = kernels::pack_weights(wm, const_cast<void*>(wm.data));
  kernels::ThreadPool pool(threads);
  kernels::matmul(x.data(), T, wm, y.data(), &pool);  // warm-up: caches, pages, threads
  // Best of many short calls (a few ms each): the host's other tenants show up as slow ones.
  double best = 0;
  for (int r = 0; r < 4 * kRepeats; ++r) {
    const auto t0 = clock_type::now();
    kernels::matmul(x.data(), T, wm, y.data(), &pool);
    best = std::max(best, 2.0 * double(T * K * N) / seconds_since(t0) / 1e9);
  }
  return best;
}

}  // namespace

double measure_read_gbps(int threads, int64_t array_mb) {
  return ReadArray(array_mb).gbps(threads);
}

int bench_ceilings(Args& args) {
  const int threads = thread_option(args);
  const int64_t array_mb = args.integer("array-mb", 1024);
  const std::string path = args.value("ceilings-file", inspectors::default_ceilings_path());
  const bool as_json = args.flag("json");
  args.done();
  if (array_mb < 16) throw UsageError("--array-mb must be >= 16");

  inspectors::MachineCeilings c;
  c.threads = threads;
  {
    const ReadArray array(array_mb);
    c.read_gbps_one_thread = array.gbps(1);
    c.read_gbps = threads > 1 ? array.gbps(threads) : c.read_gbps_one_thread;
  }
  c.gemm_gflops = gemm_gflops(threads, c.gemm_t, c.gemm_k, c.gemm_n, kernels::DType::F32);
  c.gemm_bf16_gflops = gemm_gflops(threads, c.gemm_t, c.gemm_k, c.gemm_n, kernels::DType::BF16);
  {
    const kernels::ScopedActivations bf16(kernels::Activations::Bf16);
    if (kernels::bf16_activations_effective())
      c.gemm_bf16_dot_gflops =
          gemm_gflops(threads, c.gemm_t, c.gemm_k, c.gemm_n, kernels::DType::BF16);
  }
  {
    const kernels::ScopedActivations int8(kernels::Activations::Int8);
    if (kernels::int8_activations_effective())
      c.gemm_int8_dot_gflops =
          gemm_gflops(threads, c.gemm_t, c.gemm_k, c.gemm_n, kernels::DType::I8);
  }
  c.isa = kernels::isa_name(kernels::active_isa());
  const nlohmann::json machine = nlohmann::json::parse(machine_json(threads));
  c.cpu = machine.value("cpu", "");
  c.host = machine.value("host", "");
  c.measured_unix_s = int64_t(std::time(nullptr));
  inspectors::save_ceilings(path, c);

  if (as_json) {
    nlohmann::json j = inspectors::ceilings_to_json(c);
    j["file"] = path;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("ceilings of %s (%s), saved to %s\n", c.host.c_str(), c.cpu.c_str(), path.c_str());
    std::printf("  memory read, %lld MiB array:  %8.1f GB/s (1 thread)  %8.1f GB/s (%d threads)\n",
                (long long)array_mb, c.read_gbps_one_thread, c.read_gbps, threads);
    std::printf("  GEMM f32 T=%lld K=%lld N=%lld:   %8.1f GFLOP/s (%d threads, %s kernels)\n",
                (long long)c.gemm_t, (long long)c.gemm_k, (long long)c.gemm_n, c.gemm_gflops,
                threads, c.isa.c_str());
    std::printf("  GEMM bf16 weights, same shape:     %8.1f GFLOP/s\n", c.gemm_bf16_gflops);
    if (c.gemm_bf16_dot_gflops > 0)
      std::printf("  GEMM bf16 weights and x (--activations bf16): %8.1f GFLOP/s\n",
                  c.gemm_bf16_dot_gflops);
    if (c.gemm_int8_dot_gflops > 0)
      std::printf("  GEMM int8 weights and x (--activations int8): %8.1f GFLOP/s\n",
                  c.gemm_int8_dot_gflops);
  }
  return 0;
}

}  // namespace moescope::app
