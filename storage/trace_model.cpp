// The in-memory trace (see trace_model.h). Every mutation takes the exclusive lock for the time
// of one event; readers share the lock for the time of their callback.
#include "storage/trace_model.h"

#include <mutex>

#include "engine/trace/half.h"
#include "storage/run_builder.h"

namespace moescope::storage {

RunData* TraceModel::find(int64_t run) {
  auto it = runs_.find(run);
  if (it == runs_.end()) return nullptr;
  ++version_;
  ++it->second->version;
  return it->second.get();
}

int64_t TraceModel::begin_run(const RunInfo& info) {
  std::unique_lock lock(mutex_);
  const int64_t id = runs_.empty() ? 1 : runs_.rbegin()->first + 1;
  auto run = std::make_unique<RunData>();
  init_run(*run, id, info);
  runs_[id] = std::move(run);
  ++version_;
  return id;
}

void TraceModel::begin_run_with_id(int64_t id, const RunInfo& info) {
  auto run = std::make_unique<RunData>();
  init_run(*run, id, info);
  std::unique_lock lock(mutex_);
  run->version = runs_.count(id) ? runs_[id]->version + 1 : 0;
  runs_[id] = std::move(run);
  sites_.erase(id);
  ++version_;
}

void TraceModel::end_run(int64_t run, RunStatus status, int64_t end_ns, const std::string& error) {
  std::unique_lock lock(mutex_);
  if (RunData* r = find(run)) {
    r->status = status;
    r->end_ns = end_ns;
    r->error = error;
  }
  sites_.erase(run);
}

void TraceModel::token(int64_t run, const trace::TokenEvent& e) {
  TokenRecord t = token_record(e);  // the copy of the text happens outside the lock
  std::unique_lock lock(mutex_);
  if (RunData* r = find(run)) set_token(*r, std::move(t));
}

void TraceModel::routing(int64_t run, const trace::RoutingBlock& b) {
  std::unique_lock lock(mutex_);
  if (RunData* r = find(run))
    set_routing(*r, b.layer, b.p0, b.t, b.n_experts, b.top_k, b.probs, b.ids, b.gates, b.logits,
                BlockSteps{b.step, 0});
}

void TraceModel::attention(int64_t run, const trace::AttentionBlock& b) {
  if (b.n_queries <= 0 || b.n_keys <= 0) return;
  AttentionRecord a;
  a.step = b.step;
  a.layer = b.layer;
  a.head = b.head;
  a.kv_head = b.kv_head;
  a.q0 = b.q0;
  a.n_queries = b.n_queries;
  a.n_keys = b.n_keys;
  a.probs_f16.resize(size_t(b.n_queries) * size_t(b.n_keys));
  for (int64_t q = 0; q < b.n_queries; ++q)
    for (int64_t k = 0; k < b.n_keys; ++k)
      a.probs_f16[size_t(q * b.n_keys + k)] = trace::f32_to_f16(b.probs[q * b.row_stride + k]);
  std::unique_lock lock(mutex_);
  if (RunData* r = find(run)) r->attention.push_back(std::move(a));
}

void TraceModel::op(int64_t run, const trace::OpEvent& e) {
  std::unique_lock lock(mutex_);
  RunData* r = find(run);
  if (!r) return;
  auto& cache = sites_[run];
  auto it = cache.find(e.site);
  if (it == cache.end()) {
    // Same names as the writer gives sites without one, so model and file agree.
    const char* name = e.site && e.site->name ? e.site->name : "(unnamed)";
    const char* kind = e.site && e.site->kind ? e.site->kind : "";
    const int32_t n = r->intern(name);
    it = cache.emplace(e.site, std::make_pair(n, r->intern(kind))).first;
  }
  OpRecord o;
  o.name = it->second.first;
  o.kind = it->second.second;
  o.step = e.step;
  o.layer = e.layer;
  o.expert = e.expert;
  o.device = e.device;
  o.stream = e.stream;
  o.start_ns = e.start_ns;
  o.end_ns = e.end_ns;
  o.bytes = e.bytes;
  o.flops = e.flops;
  r->ops.push_back(o);
}

void TraceModel::memory(int64_t run, const trace::MemorySample& s) {
  std::unique_lock lock(mutex_);
  if (RunData* r = find(run)) r->memory.push_back(s);
}

void TraceModel::add_drops(int64_t run, const DropCounts& d) {
  std::unique_lock lock(mutex_);
  if (RunData* r = find(run)) storage::add_drops(r->drops, d);
}

void TraceModel::put(RunData run) {
  auto p = std::make_unique<RunData>(std::move(run));
  std::unique_lock lock(mutex_);
  const int64_t id = p->id;
  auto it = runs_.find(id);
  // Views compare versions to decide when to redraw: a replaced run must not go back in time.
  if (it != runs_.end()) p->version = std::max(p->version, it->second->version + 1);
  runs_[id] = std::move(p);
  sites_.erase(id);
  ++version_;
}

bool TraceModel::read(int64_t run, const std::function<void(const RunData&)>& fn) const {
  std::shared_lock lock(mutex_);
  auto it = runs_.find(run);
  if (it == runs_.end()) return false;
  fn(*it->second);
  return true;
}

std::vector<RunSummary> TraceModel::runs() const {
  std::shared_lock lock(mutex_);
  std::vector<RunSummary> out;
  out.reserve(runs_.size());
  for (const auto& [id, run] : runs_) out.push_back(summarize(*run));
  return out;
}

uint64_t TraceModel::version() const {
  std::shared_lock lock(mutex_);
  return version_;
}

RunSummary summarize(const RunData& run) {
  RunSummary s;
  s.id = run.id;
  s.model = run.info.model;
  s.prompt = run.info.prompt;
  s.start_unix_ns = run.info.start_unix_ns;
  s.duration_s = run.end_ns > 0 ? double(run.end_ns - run.info.start_ns) * 1e-9 : 0.0;
  s.prompt_tokens = run.prompt_tokens();
  s.generated_tokens = run.generated_tokens();
  s.status = run.status;
  return s;
}

}  // namespace moescope::storage
