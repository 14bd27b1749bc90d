#include "app/cli/bench_breakdown.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "engine/trace/clock.h"
#include "engine/trace/sink.h"
#include "engine/trace/tracer.h"

namespace moescope::app {

namespace {

// Sums op durations per site; ignores everything else. OpSites are static, so the pointer is a
// stable key.
class OpSumSink final : public trace::TraceSink {
 public:
  int64_t begin_run(const trace::RunInfo&) override { return 1; }
  void end_run(int64_t, trace::RunStatus, int64_t, const std::string&) override {}
  void token(int64_t, const trace::TokenEvent&) override {}
  void routing(int64_t, const trace::RoutingBlock&) override {}
  void attention(int64_t, const trace::AttentionBlock&) override {}
  void op(int64_t, const trace::OpEvent& e) override {
    std::lock_guard<std::mutex> lock(mutex_);  // uncontended: ops come from the calling thread
    Sum& s = sums_[e.site];
    s.calls += 1;
    s.ns += double(e.end_ns - e.start_ns);
  }

  std::vector<OpShare> shares() const {
    std::vector<OpShare> out;
    for (const auto& [site, s] : sums_) out.push_back({site->name, site->kind, s.calls, s.ns});
    std::sort(out.begin(), out.end(),
              [](const OpShare& a, const OpShare& b) { return a.ns > b.ns; });
    return out;
  }

 private:
  struct Sum {
    int64_t calls = 0;
    double ns = 0;
  };
  std::mutex mutex_;
  std::map<const trace::OpSite*, Sum> sums_;
};

trace::CaptureSettings ops_only() {
  trace::CaptureSettings c;
  c.routing = false;
  c.attention = false;
  c.ops = true;
  c.prompt_logprobs = false;
  return c;
}

}  // namespace

double PhaseBreakdown::op_ns() const {
  double s = 0;
  for (const OpShare& o : ops) s += o.ns;
  return s;
}

PhaseBreakdown breakdown_prefill(Model& model, std::span<const int32_t> prompt) {
  OpSumSink sink;
  trace::Tracer tracer(&sink, ops_only());
  const ModelConfig& c = model.config();
  std::vector<float> logits(size_t(c.vocab_size));
  KvCache cache(c, int64_t(prompt.size()));
  const int64_t t0 = trace::now_ns();
  model.forward(prompt, cache, logits.data(), false, &tracer);
  PhaseBreakdown b;
  b.wall_ns = double(trace::now_ns() - t0);
  b.tokens = int64_t(prompt.size());
  b.ops = sink.shares();
  return b;
}

PhaseBreakdown breakdown_decode(Model& model, int32_t first, int64_t gen) {
  OpSumSink sink;
  trace::Tracer tracer(&sink, ops_only());
  const ModelConfig& c = model.config();
  std::vector<float> logits(size_t(c.vocab_size));
  KvCache cache(c, gen);
  int32_t next = first;
  const int64_t t0 = trace::now_ns();
  for (int64_t g = 0; g < gen; ++g) {
    tracer.set_step(g + 1);
    model.forward(std::span<const int32_t>(&next, 1), cache, logits.data(), false, &tracer);
    next = int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }
  PhaseBreakdown b;
  b.wall_ns = double(trace::now_ns() - t0);
  b.tokens = gen;
  b.ops = sink.shares();
  return b;
}

}  // namespace moescope::app
