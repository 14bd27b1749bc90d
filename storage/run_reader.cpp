// Row decoding for the trace reader (see run_reader.h). Blob sizes are checked against the
// counts stored beside them, so a damaged row is an error naming the run, not a wild read.
#include "storage/run_reader.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "engine/core/error.h"
#include "storage/process_info.h"
#include "storage/run_builder.h"

namespace moescope::storage {

namespace {

RunStatus status_from(const std::string& s) {
  if (s == "complete") return RunStatus::Complete;
  if (s == "aborted") return RunStatus::Aborted;
  return RunStatus::Running;
}

// A run still marked running whose writer process is gone was cut short (killed, crashed).
void resolve_status(RunStatus& status, std::string& error, const ProcessId& writer) {
  if (status == RunStatus::Running && !process_alive(writer)) {
    status = RunStatus::Aborted;
    if (error.empty()) error = abandoned_run_error(writer.pid);
  }
}

template <typename T>
std::vector<T> blob_vector(const Stmt& s, int col) {
  std::vector<T> v(s.bytes(col) / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), s.blob(col), v.size() * sizeof(T));
  return v;
}

}  // namespace

// Bounds on a run's shape far past any model of the family (Grok-1: 64 layers, 8 experts).
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxExperts = 4096;

void RunReader::malformed(int64_t run, const std::string& what) {
  fail("trace ", db_.path(), ": run ", run, ": ", what, " (the file is damaged)");
}

std::vector<RunSummary> RunReader::runs() {
  Transaction t(db_, "BEGIN", "listing runs");
  Stmt s(db_, R"sql(
SELECT r.id, r.model, r.prompt, r.start_unix_ns, r.start_ns, r.end_ns, r.status, r.error,
  coalesce(r.writer_pid, 0), coalesce(r.writer_start, 0),
  (SELECT count(*) FROM tokens t WHERE t.run_id = r.id AND t.phase = 'prompt'),
  (SELECT count(*) FROM tokens t WHERE t.run_id = r.id AND t.phase <> 'prompt')
FROM runs r ORDER BY r.id)sql");
  std::vector<RunSummary> out;
  while (s.step()) {
    RunSummary r;
    r.id = s.i64(0);
    r.model = s.text(1);
    r.prompt = s.text(2);
    r.start_unix_ns = s.i64(3);
    const int64_t start_ns = s.i64(4), end_ns = s.i64(5);
    r.duration_s = end_ns > 0 ? double(end_ns - start_ns) * 1e-9 : 0.0;
    r.status = status_from(s.text(6));
    std::string error = s.text(7);
    resolve_status(r.status, error, ProcessId{s.i64(8), s.i64(9)});
    r.prompt_tokens = s.i64(10);
    r.generated_tokens = s.i64(11);
    out.push_back(std::move(r));
  }
  t.commit();
  return out;
}

bool RunReader::read_run_row(int64_t id, RunData& run) {
  Stmt s(db_, R"sql(
SELECT model, model_dir, config_json, tokenizer, prompt, sampling_json, capture_json,
  machine_json, devices_json, layout_json, n_layers, n_experts, top_k, n_heads, n_kv_heads,
  vocab_size, start_unix_ns, start_ns, end_ns, status, error, coalesce(writer_pid, 0),
  coalesce(writer_start, 0)
FROM runs WHERE id = ?1)sql");
  s.bind(1, id);
  if (!s.step()) return false;
  RunInfo info;
  info.model = s.text(0);
  info.model_dir = s.text(1);
  info.config_json = s.text(2);
  info.tokenizer = s.text(3);
  info.prompt = s.text(4);
  info.sampling_json = s.text(5);
  info.capture_json = s.text(6);
  info.machine_json = s.text(7);
  info.devices_json = s.text(8);
  info.layout_json = s.text(9);
  // The shape sizes what the run's reader allocates: a damaged count must be an error, not a
  // multi-gigabyte allocation (found by fuzz_trace_file: n_layers read as 8.6e7).
  const int64_t layers = s.i64(10), experts = s.i64(11), top_k = s.i64(12);
  if (layers < 0 || layers > kMaxLayers)
    malformed(id, cat("n_layers is ", layers, ", expected 0..", kMaxLayers));
  if (experts < 0 || experts > kMaxExperts)
    malformed(id, cat("n_experts is ", experts, ", expected 0..", kMaxExperts));
  if (top_k < 0 || top_k > experts)
    malformed(id, cat("top_k is ", top_k, ", expected 0..", experts, " (n_experts)"));
  info.n_layers = int32_t(layers);
  info.n_experts = int32_t(experts);
  info.top_k = int32_t(top_k);
  info.n_heads = int32_t(s.i64(13));
  info.n_kv_heads = int32_t(s.i64(14));
  info.vocab_size = s.i64(15);
  info.start_unix_ns = s.i64(16);
  info.start_ns = s.i64(17);
  if (run.id != id) init_run(run, id, info);
  run.end_ns = s.i64(18);
  run.status = status_from(s.text(19));
  run.error = s.text(20);
  resolve_status(run.status, run.error, ProcessId{s.i64(21), s.i64(22)});
  return true;
}

bool RunReader::read_tokens(RunData& run) {
  Stmt s(db_, R"sql(
SELECT position, step, token_id, text, phase, logprob, top_ids, top_logprobs, n_top, time_ns
FROM tokens WHERE run_id = ?1 AND position >= ?2 ORDER BY position)sql");
  s.bind(1, run.id).bind(2, int64_t(run.tokens.size()));
  bool any = false;
  while (s.step()) {
    TokenRecord t;
    t.position = s.i64(0);
    t.step = s.i64(1);
    t.id = int32_t(s.i64(2));
    t.text = s.text(3);
    t.phase = s.text(4) == "prompt" ? TokenPhase::Prompt : TokenPhase::Generated;
    t.logprob = float(s.f64(5));
    const size_t n = std::min<size_t>({size_t(std::max<int64_t>(0, s.i64(8))), s.bytes(6) / 4,
                                       s.bytes(7) / 4, size_t(trace::TokenEvent::kTop)});
    t.n_top = int32_t(n);
    if (n) {
      std::memcpy(t.top_ids, s.blob(6), 4 * n);
      std::memcpy(t.top_logprobs, s.blob(7), 4 * n);
    }
    t.time_ns = s.i64(9);
    set_token(run, std::move(t));
    any = true;
  }
  return any;
}

bool RunReader::read_routing(RunData& run, Cursor& c) {
  // +run_id keeps SQLite on the rowid range instead of scanning the run's whole index.
  Stmt s(db_, R"sql(
SELECT rowid, layer, pos0, count, n_experts, top_k, step0, step_stride, probs, ids, gates, logits
FROM routing WHERE rowid > ?1 AND +run_id = ?2 ORDER BY rowid)sql");
  s.bind(1, c.routing_rowid).bind(2, run.id);
  bool any = false;
  while (s.step()) {
    c.routing_rowid = s.i64(0);
    const int32_t layer = int32_t(s.i64(1));
    const int64_t pos0 = s.i64(2), count = s.i64(3);
    const int32_t e = int32_t(s.i64(4)), k = int32_t(s.i64(5));
    const auto where = [&] { return cat("routing of layer ", layer, " at position ", pos0); };
    if (count <= 0 || count > INT32_MAX || e <= 0 || k <= 0 || layer < 0 || pos0 < 0)
      malformed(run.id, cat(where(), " has count ", count, ", ", e, " experts, top-", k));
    const size_t want_probs = size_t(count) * size_t(e) * 4, want_k = size_t(count) * size_t(k) * 4;
    if (s.bytes(8) != want_probs || s.bytes(9) != want_k || s.bytes(10) != want_k)
      malformed(run.id,
                cat(where(), ": probs/ids/gates have ", s.bytes(8), "/", s.bytes(9), "/",
                    s.bytes(10), " bytes, expected ", want_probs, "/", want_k, "/", want_k));
    // Blob pointers need not be aligned: copy before use.
    const auto probs = blob_vector<float>(s, 8);
    const auto ids = blob_vector<int32_t>(s, 9);
    // Views index the expert axis with these: a damaged id must not reach them (found by
    // fuzz_trace_file).
    for (const int32_t id : ids)
      if (id < 0 || id >= e)
        malformed(run.id, cat(where(), ": expert id ", id, " is outside 0..", e - 1));
    const auto gates = blob_vector<float>(s, 10);
    // Logits are optional (NULL when the engine did not report them).
    const auto logits = blob_vector<float>(s, 11);
    if (!logits.empty() && logits.size() != size_t(count) * size_t(e))
      malformed(run.id,
                cat(where(), ": logits have ", s.bytes(11), " bytes, expected ", want_probs));
    set_routing(run, layer, pos0, int32_t(count), e, k, probs.data(), ids.data(), gates.data(),
                logits.empty() ? nullptr : logits.data(), BlockSteps{s.i64(6), s.i64(7)});
    any = true;
  }
  return any;
}

const std::string& RunReader::file_string(int64_t id) {
  auto it = strings_.find(id);
  if (it != strings_.end()) return it->second;
  Stmt s(db_, "SELECT value FROM strings WHERE id = ?1");
  s.bind(1, id);
  std::string v = s.step() ? s.text(0) : cat("(string ", id, ")");
  return strings_.emplace(id, std::move(v)).first->second;
}

bool RunReader::read_ops(RunData& run, Cursor& c) {
  Stmt s(db_, R"sql(
SELECT rowid, step, name_id, kind_id, layer, expert, device, stream, start_ns, end_ns, bytes, flops
FROM ops WHERE rowid > ?1 AND +run_id = ?2 ORDER BY rowid)sql");
  if (c.ops_rowid == 0) {
    // First read: start at the run's first op (found through the run_id index) rather than
    // walking the ops of every earlier run.
    Stmt first(db_, "SELECT min(rowid) FROM ops WHERE run_id = ?1");
    first.bind(1, run.id);
    if (!first.step() || first.is_null(0)) return false;
    c.ops_rowid = first.i64(0) - 1;
  }
  s.bind(1, c.ops_rowid).bind(2, run.id);
  auto index = [&](int64_t file_id) {
    auto it = c.string_index.find(file_id);
    if (it == c.string_index.end())
      it = c.string_index.emplace(file_id, run.intern(file_string(file_id))).first;
    return it->second;
  };
  bool any = false;
  while (s.step()) {
    c.ops_rowid = s.i64(0);
    OpRecord o;
    o.step = s.i64(1);
    // Name before kind: the order in which the live model interns them.
    o.name = index(s.i64(2));
    o.kind = index(s.i64(3));
    o.layer = int32_t(s.i64(4));
    o.expert = int32_t(s.i64(5));
    o.device = int32_t(s.i64(6));
    o.stream = int32_t(s.i64(7));
    o.start_ns = s.i64(8);
    o.end_ns = s.i64(9);
    o.bytes = s.i64(10);
    o.flops = s.i64(11);
    run.ops.push_back(o);
    any = true;
  }
  c.ops = run.ops.size();
  return any;
}

bool RunReader::read_attention(RunData& run, Cursor& c) {
  Stmt s(db_, R"sql(
SELECT rowid, step, layer, head, kv_head, q0, n_queries, n_keys, probs
FROM attention WHERE rowid > ?1 AND +run_id = ?2 ORDER BY rowid)sql");
  if (c.attention_rowid == 0) {
    Stmt first(db_, "SELECT min(rowid) FROM attention WHERE run_id = ?1");
    first.bind(1, run.id);
    if (!first.step() || first.is_null(0)) return false;
    c.attention_rowid = first.i64(0) - 1;
  }
  s.bind(1, c.attention_rowid).bind(2, run.id);
  bool any = false;
  while (s.step()) {
    c.attention_rowid = s.i64(0);
    AttentionRecord a;
    a.step = s.i64(1);
    a.layer = int32_t(s.i64(2));
    a.head = int32_t(s.i64(3));
    a.kv_head = int32_t(s.i64(4));
    a.q0 = s.i64(5);
    a.n_queries = int32_t(s.i64(6));
    a.n_keys = s.i64(7);
    const int64_t cells = a.n_queries > 0 && a.n_keys > 0 ? int64_t(a.n_queries) * a.n_keys : -1;
    if (cells < 0 || s.bytes(8) != size_t(cells) * 2)
      malformed(run.id, cat("attention of layer ", a.layer, " head ", a.head, " has ", s.bytes(8),
                            " bytes for ", a.n_queries, " x ", a.n_keys, " f16 cells"));
    a.probs_f16 = blob_vector<uint16_t>(s, 8);
    run.attention.push_back(std::move(a));
    any = true;
  }
  c.attention = run.attention.size();
  return any;
}

bool RunReader::read_memory(RunData& run, Cursor& c) {
  // The (run_id) index holds the rowid: this is a range of it, not a scan of other runs' rows.
  Stmt s(db_, R"sql(
SELECT rowid, step, time_ns, rss_bytes, peak_rss_bytes, attention_bytes
FROM memory WHERE run_id = ?1 AND rowid > ?2 ORDER BY rowid)sql");
  s.bind(1, run.id).bind(2, c.memory_rowid);
  bool any = false;
  while (s.step()) {
    c.memory_rowid = s.i64(0);
    MemorySample m;
    m.step = s.i64(1);
    m.time_ns = s.i64(2);
    m.rss_bytes = s.i64(3);
    m.peak_rss_bytes = s.i64(4);
    m.attention_bytes = s.i64(5);
    run.memory.push_back(m);
    any = true;
  }
  c.memory = run.memory.size();
  return any;
}

DropCounts RunReader::read_drops(int64_t run) {
  Stmt s(db_, "SELECT kind, count FROM drops WHERE run_id = ?1");
  s.bind(1, run);
  DropCounts d;
  while (s.step()) {
    const std::string kind = s.text(0);
    const int64_t n = s.i64(1);
    if (kind == "tokens")
      d.tokens += n;
    else if (kind == "routing")
      d.routing += n;
    else if (kind == "attention")
      d.attention += n;
    else if (kind == "ops")
      d.ops += n;
    else if (kind == "memory")
      d.memory += n;
  }
  return d;
}

RunData RunReader::load(int64_t id) {
  Transaction t(db_, "BEGIN", cat("reading run ", id));
  RunData run;
  if (!read_run_row(id, run)) {
    std::string ids;
    Stmt s(db_, "SELECT id FROM runs ORDER BY id");
    while (s.step()) ids += (ids.empty() ? "" : ", ") + std::to_string(s.i64(0));
    fail("trace ", db_.path(), ": no run ", id, " (runs in the file: ", ids.empty() ? "none" : ids,
         ")");
  }
  Cursor c;
  read_tokens(run);
  read_routing(run, c);
  read_ops(run, c);
  read_attention(run, c);
  read_memory(run, c);
  run.drops = read_drops(id);
  t.commit();
  cursors_[id] = std::move(c);
  return run;
}

bool RunReader::refresh(RunData& run) {
  auto it = cursors_.find(run.id);
  // A RunData this reader did not produce (or a copy that fell behind another) is reloaded.
  if (it == cursors_.end() || it->second.ops != run.ops.size() ||
      it->second.attention != run.attention.size() || it->second.memory != run.memory.size()) {
    const uint64_t version = run.version;
    run = load(run.id);
    run.version = version + 1;
    return true;
  }
  Cursor& c = it->second;
  Transaction t(db_, "BEGIN", cat("reading run ", run.id));
  const RunStatus status = run.status;
  const int64_t end_ns = run.end_ns;
  const std::string error = run.error;
  if (!read_run_row(run.id, run)) fail("trace ", db_.path(), ": run ", run.id, " disappeared");
  bool changed = status != run.status || end_ns != run.end_ns || error != run.error;
  changed |= read_tokens(run);
  changed |= read_routing(run, c);
  changed |= read_ops(run, c);
  changed |= read_attention(run, c);
  changed |= read_memory(run, c);
  const DropCounts d = read_drops(run.id);
  if (d.tokens != run.drops.tokens || d.routing != run.drops.routing ||
      d.attention != run.drops.attention || d.ops != run.drops.ops ||
      d.memory != run.drops.memory) {
    run.drops = d;
    changed = true;
  }
  t.commit();
  if (changed) ++run.version;
  return changed;
}

}  // namespace moescope::storage
