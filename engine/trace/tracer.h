// The engine's handle on tracing: the sink, the current run and step, the capture settings and
// the runtime mask. Probe sites ask `tracer && tracer->on(kOps)`: with MOESCOPE_TRACE=0 that is a
// compile-time false, otherwise one relaxed load and a well-predicted branch.
//
// A Tracer serves one run at a time; begin_run/end_run bracket it. Methods may be called from
// several engine threads (tensor-parallel ranks); the sink is responsible for its own locking.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/trace/capture.h"
#include "engine/trace/clock.h"
#include "engine/trace/sink.h"

#ifndef MOESCOPE_TRACE
#define MOESCOPE_TRACE 1
#endif

namespace moescope::trace {

class Tracer {
 public:
  Tracer(TraceSink* sink, CaptureSettings capture)
      : sink_(sink), capture_(std::move(capture)), mask_(capture_.mask()) {}

  const CaptureSettings& capture() const { return capture_; }
  TraceSink* sink() const { return sink_; }
  int64_t run() const { return run_; }
  // The device its ops are recorded on (an index into RunInfo::devices_json; 0 by default).
  int32_t device() const { return device_; }

  // Reports into a run another tracer began, as device `device`: how the ranks of a sharded
  // model record their ops into one run, each on its own device track.
  void attach(int64_t run, int32_t device) {
    run_ = run;
    device_ = device;
  }

  int64_t begin_run(const RunInfo& info) {
    run_ = sink_->begin_run(info);
    attention_bytes_.store(0, std::memory_order_relaxed);
    attention_captured_.store(0, std::memory_order_relaxed);
    return run_;
  }
  void end_run(RunStatus status, const std::string& error = {}) {
    sink_->end_run(run_, status, now_ns(), error);
  }

  // The runtime mask (Category bits); can be changed while a run is going.
  bool on(Category c) const {
    return MOESCOPE_TRACE && (mask_.load(std::memory_order_relaxed) & c) != 0;
  }
  void set_mask(uint32_t mask) { mask_.store(mask, std::memory_order_relaxed); }

  // The forward call in progress: 0 for the prefill, n for the n-th decode step.
  void set_step(int64_t step) { step_.store(step, std::memory_order_relaxed); }
  int64_t step() const { return step_.load(std::memory_order_relaxed); }

  void token(const TokenEvent& e) { sink_->token(run_, e); }
  void op(const OpEvent& e) { sink_->op(run_, e); }
  void routing(const RoutingBlock& b) { sink_->routing(run_, b); }
  void memory(const MemorySample& s) { sink_->memory(run_, s); }

  // Whether this layer's attention maps are wanted for the current step (cheap; call before
  // asking the kernel for probabilities).
  bool wants_attention(int32_t layer) const {
    if (!on(kAttention)) return false;
    const int64_t s = step();
    if (s < capture_.attention_first_step || s > capture_.attention_last_step) return false;
    if (attention_bytes_.load(std::memory_order_relaxed) >= capture_.attention_budget_bytes)
      return false;
    return selected(capture_.attention_layers, layer);
  }

  // Splits probs [Hq, T, S] (queries p0 .. p0+T-1) into per-head blocks for the chosen heads,
  // keeping the prompt's map whole up to attention_prompt_max_cells and the run within the byte
  // budget (f16 = 2 bytes per cell). group = query heads per KV head.
  void attention(int32_t layer, int64_t p0, int64_t t, int64_t n_heads, int64_t group,
                 const float* probs) {
    const int64_t s = p0 + t;
    const int64_t rows = std::max<int64_t>(
        1, std::min<int64_t>(t, capture_.attention_prompt_max_cells / std::max<int64_t>(s, 1)));
    for (int64_t h = 0; h < n_heads; ++h) {
      if (!selected(capture_.attention_heads, int32_t(h))) continue;
      const int64_t bytes = rows * s * 2;
      if (attention_bytes_.fetch_add(bytes, std::memory_order_relaxed) + bytes >
          capture_.attention_budget_bytes)
        return;  // budget spent: later heads and steps are not captured
      AttentionBlock b;
      b.step = step();
      b.layer = layer;
      b.head = int32_t(h);
      b.kv_head = int32_t(h / group);
      b.q0 = p0 + (t - rows);  // the last rows: the most recent queries
      b.n_queries = int32_t(rows);
      b.n_keys = s;
      b.row_stride = s;
      b.probs = probs + (h * t + (t - rows)) * s;
      sink_->attention(run_, b);
      attention_captured_.fetch_add(bytes, std::memory_order_relaxed);
    }
  }

  // Bytes asked for (the budget check; may pass the budget by the block that was refused) and
  // bytes actually handed to the sink (never more than the budget).
  int64_t attention_bytes() const { return attention_bytes_.load(std::memory_order_relaxed); }
  int64_t attention_captured_bytes() const {
    return attention_captured_.load(std::memory_order_relaxed);
  }

 private:
  static bool selected(const std::vector<int32_t>& list, int32_t v) {
    return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
  }

  TraceSink* sink_;
  CaptureSettings capture_;
  std::atomic<uint32_t> mask_;
  std::atomic<int64_t> step_{0};
  std::atomic<int64_t> attention_bytes_{0};
  std::atomic<int64_t> attention_captured_{0};
  int64_t run_ = 0;
  int32_t device_ = 0;
};

// Times one op of the forward pass: the constructor reads the clock when ops are traced, the
// destructor emits the event. Off: one branch, no clock reads.
class OpScope {
 public:
  // With deferred, the finished event is appended there instead of sent, with `stream` as its
  // stream: ops timed on a thread pool's workers, which the engine's own thread sends on, in
  // order, after the loop (a sink is fed from one thread).
  OpScope(Tracer* tracer, const OpSite& site, int32_t layer, int32_t expert, int64_t bytes,
          int64_t flops, std::vector<OpEvent>* deferred = nullptr, int32_t stream = 0)
      : tracer_(tracer && tracer->on(kOps) ? tracer : nullptr), deferred_(deferred) {
    if (tracer_) {
      e_.site = &site;
      e_.layer = layer;
      e_.expert = expert;
      e_.bytes = bytes;
      e_.flops = flops;
      e_.step = tracer_->step();
      e_.device = tracer_->device();
      e_.stream = stream;
      e_.start_ns = now_ns();
    }
  }
  ~OpScope() {
    if (tracer_) {
      e_.end_ns = now_ns();
      if (deferred_) {
        deferred_->push_back(e_);
      } else {
        tracer_->op(e_);
      }
    }
  }
  OpScope(const OpScope&) = delete;
  OpScope& operator=(const OpScope&) = delete;

 private:
  Tracer* tracer_;
  std::vector<OpEvent>* deferred_;
  OpEvent e_;
};

}  // namespace moescope::trace
