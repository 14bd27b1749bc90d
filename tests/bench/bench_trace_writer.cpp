// Trace writer benchmarks (Google Benchmark): sustained throughput of the SQLite trace store, and
// the size of a trace per generated token.
//
// Build and run: ninja -C build bench_trace_writer && ./build/tests/bench/bench_trace_writer
// (on a busy machine add --benchmark_repetitions=5 and read the _median rows).
//
//   BM_Routing/T          routing records (one position x one layer: E=8 probs, top-2 ids and
//                         gates) per second, in blocks of T positions (T=1 decode, T=512
//                         prefill), 4 layers, to a temporary file, timed from the first event
//                         to the end of the final flush (every record committed). The producer
//                         yields while the (default, 64 MiB) queue is over half full, so the time
//                         is the writer thread's own pace and nothing is dropped (the drops
//                         counter says so).
//   BM_Routing/T/model    the same with the live TraceModel fed too.
//   BM_Ops                op events per second (20 op sites), same timing.
//   BM_DecodeBytes        bytes of trace file per generated token for a decode event mix: per
//                         token 4 layers of routing (T=1), 20 ops per layer and the token itself;
//                         measured as the file-size difference between a run with N decode
//                         steps and one without, after the writer has closed the file.
//                         (ops_per_layer:0 is the same without ops: routing and tokens only.)
// This machine is shared: besides the wall-clock rates, each case reports the rate per second of
// writer-thread CPU (process CPU time minus the producer's), which does not depend on how
// much of a core the writer thread got.
// Times and sizes are reported, never asserted.
#include <benchmark/benchmark.h>

#include <time.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/trace/events.h"
#include "storage/trace_model.h"
#include "storage/trace_writer.h"

namespace moescope::storage {
namespace {

namespace fs = std::filesystem;

constexpr int32_t kLayers = 4, kExperts = 8, kTopK = 2;

std::string temp_file(const char* tag) {
  const fs::path dir = fs::temp_directory_path() / ("moescope-bench-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const fs::path p = dir / (std::string(tag) + ".db");
  for (const char* suffix : {"", "-wal", "-shm", ".lock"}) fs::remove(p.string() + suffix);
  return p.string();
}

trace::RunInfo bench_info() {
  trace::RunInfo info;
  info.model = "bench";
  info.n_layers = kLayers;
  info.n_experts = kExperts;
  info.top_k = kTopK;
  info.devices_json = R"(["cpu"])";
  return info;
}

// Router outputs for T positions, random but fixed.
struct RoutingData {
  std::vector<float> probs, gates;
  std::vector<int32_t> ids;
  explicit RoutingData(int32_t t)
      : probs(size_t(t) * kExperts), gates(size_t(t) * kTopK), ids(size_t(t) * kTopK) {
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    for (float& p : probs) p = u(rng);
    for (float& g : gates) g = u(rng);
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = int32_t(rng() % kExperts);
  }
  trace::RoutingBlock block(int64_t step, int32_t layer, int64_t p0, int32_t t) const {
    trace::RoutingBlock b;
    b.step = step;
    b.layer = layer;
    b.p0 = p0;
    b.t = t;
    b.n_experts = kExperts;
    b.top_k = kTopK;
    b.probs = probs.data();
    b.ids = ids.data();
    b.gates = gates.data();
    return b;
  }
};

const trace::OpSite kSites[20] = {{"attn.norm", "norm"},         {"attn.q_proj", "matmul"},
                                  {"attn.k_proj", "matmul"},     {"attn.v_proj", "matmul"},
                                  {"attn.rope", "rope"},         {"attn.scores", "attention"},
                                  {"attn.softmax", "attention"}, {"attn.context", "attention"},
                                  {"attn.o_proj", "matmul"},     {"attn.residual", "add"},
                                  {"moe.norm", "norm"},          {"moe.router", "router"},
                                  {"moe.topk", "router"},        {"moe.expert.gate", "matmul"},
                                  {"moe.expert.up", "matmul"},   {"moe.expert.act", "activation"},
                                  {"moe.expert.down", "matmul"}, {"moe.combine", "add"},
                                  {"moe.residual", "add"},       {"layer.out", "copy"}};

trace::OpEvent op_event(int64_t step, int32_t layer, int i, int64_t t) {
  trace::OpEvent e;
  e.site = &kSites[i % 20];
  e.step = step;
  e.layer = layer;
  e.expert = i >= 13 && i <= 16 ? i % kExperts : -1;
  e.stream = 0;
  e.start_ns = t;
  e.end_ns = t + 1500 + i * 37;
  e.bytes = 1 << 20;
  e.flops = 2 << 20;
  return e;
}

double cpu_seconds(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// CPU time of every thread but this one, accumulated over the timed parts of a benchmark.
struct WriterCpu {
  double total = 0, process0 = 0, thread0 = 0;
  void start() {
    process0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
    thread0 = cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
  }
  void stop() {
    total += (cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - process0) -
             (cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - thread0);
  }
};

// A producer faster than the disk would fill the queue and drop; to measure the writer's
// sustained pace rather than the drop path, wait while the queue is over half full (sleeping,
// not spinning: on a small machine a spinning producer takes the writer's core).
void pace(const TraceWriter& w, size_t queue_bytes) {
  while (size_t(w.stats().bytes_queued) > queue_bytes / 2)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
}

void BM_Routing(benchmark::State& state) {
  const int32_t t = int32_t(state.range(0));
  const bool with_model = state.range(1) != 0;
  const int64_t records = t == 1 ? 2'000'000 : 4'000'000;  // (position, layer) decisions
  const RoutingData data(t);
  int64_t written = 0, dropped = 0;
  WriterCpu cpu;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string path = temp_file("routing");
    TraceModel model;
    WriterOptions o;
    o.model = with_model ? &model : nullptr;
    auto w = TraceWriter::open(path, o);
    const int64_t run = w->begin_run(bench_info());
    state.ResumeTiming();
    cpu.start();
    int64_t step = 0;
    for (int64_t p0 = 0; p0 * kLayers < records; p0 += t, ++step) {
      for (int32_t l = 0; l < kLayers; ++l) w->routing(run, data.block(step, l, p0, t));
      if (step % 64 == 0) pace(*w, o.queue_bytes);
    }
    w->flush();
    cpu.stop();
    state.PauseTiming();
    written += w->stats().routing_records;
    dropped += w->stats().dropped.total();
    w.reset();
    state.ResumeTiming();
  }
  state.counters["records_per_s"] =
      benchmark::Counter(double(written), benchmark::Counter::kIsRate);
  state.counters["per_writer_cpu_s"] = double(written) / cpu.total;
  state.counters["dropped"] = double(dropped);
}
BENCHMARK(BM_Routing)
    ->ArgsProduct({{1, 512}, {0, 1}})
    ->ArgNames({"T", "model"})
    ->Iterations(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_Ops(benchmark::State& state) {
  const int64_t ops = 1'000'000;
  int64_t written = 0, dropped = 0;
  WriterCpu cpu;
  for (auto _ : state) {
    state.PauseTiming();
    const std::string path = temp_file("ops");
    WriterOptions o;
    auto w = TraceWriter::open(path, o);
    const int64_t run = w->begin_run(bench_info());
    state.ResumeTiming();
    cpu.start();
    int64_t clock = 0;
    for (int64_t i = 0; i < ops; ++i, clock += 2000) {
      w->op(run, op_event(i / (20 * kLayers), int32_t(i / 20 % kLayers), int(i % 20), clock));
      if (i % 4096 == 0) pace(*w, o.queue_bytes);
    }
    w->flush();
    cpu.stop();
    state.PauseTiming();
    written += w->stats().events_written;
    dropped += w->stats().dropped.total();
    w.reset();
    state.ResumeTiming();
  }
  state.counters["ops_per_s"] = benchmark::Counter(double(written), benchmark::Counter::kIsRate);
  state.counters["per_writer_cpu_s"] = double(written) / cpu.total;
  state.counters["dropped"] = double(dropped);
}
BENCHMARK(BM_Ops)->Iterations(2)->UseRealTime()->Unit(benchmark::kMillisecond);

// File size after a prefill of 128 positions and `decode` decode steps.
int64_t decode_trace_bytes(int64_t decode, int ops_per_layer) {
  const std::string path = temp_file("decode");
  const RoutingData prefill(128), one(1);
  {
    auto w = TraceWriter::open(path, {});
    const int64_t run = w->begin_run(bench_info());
    int64_t clock = 0;
    for (int64_t step = 0; step <= decode; ++step) {
      const int64_t p0 = step == 0 ? 0 : 127 + step;
      const int32_t t = step == 0 ? 128 : 1;
      for (int32_t l = 0; l < kLayers; ++l) {
        w->routing(run, (step == 0 ? prefill : one).block(step, l, p0, t));
        for (int i = 0; i < ops_per_layer; ++i, clock += 2000)
          w->op(run, op_event(step, l, i, clock));
      }
      for (int64_t p = p0; p < p0 + t; ++p) {
        trace::TokenEvent e;
        e.position = p;
        e.step = step;
        e.id = int32_t(1000 + p);
        e.phase = step == 0 ? trace::TokenPhase::Prompt : trace::TokenPhase::Generated;
        e.logprob = -1.25f;
        e.n_top = 5;
        for (int j = 0; j < 5; ++j) {
          e.top_ids[j] = int32_t(j * 100 + p);
          e.top_logprobs[j] = -0.5f * float(j + 1);
        }
        e.time_ns = clock;
        e.text = " token";
        w->token(run, e);
      }
      // Decode is paced by the model: commits land every few tokens, as in a real run.
      if (step % 4 == 0) w->flush();
    }
    w->end_run(run, trace::RunStatus::Complete, clock, "");
  }
  return int64_t(fs::file_size(path));
}

void BM_DecodeBytes(benchmark::State& state) {
  const int64_t decode = state.range(0);
  const int ops_per_layer = int(state.range(1));
  double per_token = 0;
  for (auto _ : state) {
    const int64_t base = decode_trace_bytes(0, ops_per_layer);
    const int64_t full = decode_trace_bytes(decode, ops_per_layer);
    per_token = double(full - base) / double(decode);
  }
  state.counters["bytes_per_token"] = per_token;
}
BENCHMARK(BM_DecodeBytes)
    ->Args({4000, 20})
    ->Args({4000, 0})
    ->ArgNames({"tokens", "ops_per_layer"})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace moescope::storage

BENCHMARK_MAIN();
