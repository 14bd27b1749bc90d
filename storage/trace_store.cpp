// SQLite side of the trace writer (see trace_store.h): pragmas, statements, routing coalescing
// and the batched transaction.
#include "storage/trace_store.h"

#include <sqlite3.h>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "engine/core/error.h"
#include "engine/trace/half.h"
#include "storage/file_checks.h"
#include "storage/schema.h"
#include "storage/trace_writer.h"

namespace moescope::storage {

namespace {

// Page size of new files. Routing and attention rows are blobs of tens of KB; larger pages mean
// shorter overflow chains and fewer pages per commit.
constexpr int kPageSize = 8192;
// A coalesced routing row is closed at about this many bytes of arrays, so a long decode makes
// rows of a few thousand positions rather than one row the size of the run.
constexpr size_t kMaxRoutingRowBytes = size_t(256) << 10;

const char* phase_name(trace::TokenPhase p) {
  return p == trace::TokenPhase::Prompt ? "prompt" : "generated";
}

}  // namespace

std::unique_ptr<TraceStore> TraceStore::open(const std::string& path,
                                             const WriterOptions& options) {
  std::unique_ptr<TraceStore> s(new TraceStore);
  s->path_ = path;
  // Claim first: checking or migrating a file another writer is appending to would race it.
  s->lock_ = WriterLock::acquire(path);
  const FileState state = check_trace_file(path);
  s->db_ = Db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, path);
  Db& db = s->db_;
  // SQLite quietly opens a file it may not write read-only; the first write would fail much
  // later, in the writer thread. Say it now, with the reason (permissions, read-only mount).
  if (sqlite3_db_readonly(db.get(), "main") == 1) {
    const int err = access(path.c_str(), W_OK) == 0 ? 0 : errno;
    fail("trace ", path, " is read-only, cannot record to it (",
         err ? std::strerror(err) : "opened read-only", "); it can still be opened for reading");
  }
  // Readers may briefly hold the WAL index while recovering it; wait for them rather than fail.
  sqlite3_busy_timeout(db.get(), 5000);
  if (state != FileState::Database) {
    const std::string sql = cat("PRAGMA page_size = ", kPageSize);
    db.exec(sql.c_str(), "setting the page size");
  }
  {
    // WAL: readers never block the writer nor it them. synchronous=NORMAL syncs only at
    // checkpoints: a committed transaction survives the writer's process being killed (the OS
    // has it), though the last commits may be lost if the machine itself loses power.
    Stmt mode(db, "PRAGMA journal_mode = WAL");
    const std::string got = mode.step() ? mode.text(0) : "";
    if (got != "wal")
      fail("trace ", path, ": cannot switch to write-ahead logging (journal mode is '", got, "')");
  }
  db.exec("PRAGMA synchronous = NORMAL", "setting synchronous");
  // The ops indexes are the hot pages of a long run; keep them in memory.
  db.exec("PRAGMA cache_size = -32768", "setting the cache size");
  if (options.max_file_bytes > 0) {
    const std::string sql =
        cat("PRAGMA max_page_count = ",
            std::max<int64_t>(1, options.max_file_bytes /
                                     db.query_int("PRAGMA page_size", "reading the page size")));
    db.exec(sql.c_str(), "limiting the file size");
  }
  {
    Transaction t(db, "BEGIN IMMEDIATE", "opening for writing");
    prepare_schema(db);
    // We hold the writer lock, so any run still 'running' lost its writer (killed or crashed):
    // mark it aborted for good.
    std::vector<std::pair<int64_t, int64_t>> orphans;
    {
      Stmt q(db, "SELECT id, coalesce(writer_pid, 0) FROM runs WHERE status = 'running'");
      while (q.step()) orphans.emplace_back(q.i64(0), q.i64(1));
    }
    Stmt mark(db, R"sql(
UPDATE runs SET status = 'aborted', error = CASE WHEN error = '' THEN ?2 ELSE error END
WHERE id = ?1)sql");
    for (const auto& [id, pid] : orphans)
      mark.bind(1, id).bind_text(2, abandoned_run_error(pid)).run();
    t.commit();
  }
  s->next_run_id_ = db.query_int("SELECT coalesce(max(id), 0) + 1 FROM runs", "reading runs");
  s->writer_ = current_process();

  s->begin_ = Stmt(db, "BEGIN IMMEDIATE");
  s->commit_ = Stmt(db, "COMMIT");
  s->rollback_ = Stmt(db, "ROLLBACK");
  s->insert_run_ = Stmt(db, R"sql(
INSERT INTO runs(id, model, model_dir, config_json, tokenizer, prompt, sampling_json, capture_json,
  machine_json, devices_json, layout_json, n_layers, n_experts, top_k, n_heads, n_kv_heads,
  vocab_size, start_unix_ns, start_ns, end_ns, status, error, writer_pid, writer_start)
VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, 0,
  'running', '', ?20, ?21))sql");
  s->end_run_ = Stmt(db, "UPDATE runs SET status = ?2, end_ns = ?3, error = ?4 WHERE id = ?1");
  s->insert_token_ = Stmt(db, R"sql(
INSERT OR REPLACE INTO tokens(run_id, position, step, token_id, text, phase, logprob, top_ids,
  top_logprobs, n_top, time_ns) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11))sql");
  // OR REPLACE: a position routed twice in one run keeps its last decision, as the model does.
  s->insert_routing_ = Stmt(db, R"sql(
INSERT OR REPLACE INTO routing(run_id, layer, pos0, count, n_experts, top_k, step0, step_stride,
  probs, ids, gates, logits) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12))sql");
  s->insert_op_ = Stmt(db, R"sql(
INSERT INTO ops(run_id, step, name_id, kind_id, layer, expert, device, stream, start_ns, end_ns,
  bytes, flops) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12))sql");
  s->insert_attention_ = Stmt(db, R"sql(
INSERT INTO attention(run_id, step, layer, head, kv_head, q0, n_queries, n_keys, probs)
VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9))sql");
  s->insert_memory_ = Stmt(db, R"sql(
INSERT INTO memory(run_id, step, time_ns, rss_bytes, peak_rss_bytes, attention_bytes)
VALUES(?1, ?2, ?3, ?4, ?5, ?6))sql");
  s->upsert_drop_ = Stmt(db, R"sql(
INSERT INTO drops(run_id, kind, count) VALUES(?1, ?2, ?3)
ON CONFLICT(run_id, kind) DO UPDATE SET count = count + excluded.count)sql");
  s->update_run_drops_ = Stmt(db, R"sql(
UPDATE runs SET dropped_tokens = dropped_tokens + ?2, dropped_routing = dropped_routing + ?3,
  dropped_attention = dropped_attention + ?4, dropped_ops = dropped_ops + ?5 WHERE id = ?1)sql");
  s->insert_string_ = Stmt(db, "INSERT OR IGNORE INTO strings(value) VALUES(?1)");
  s->select_string_ = Stmt(db, "SELECT id FROM strings WHERE value = ?1");
  return s;
}

TraceStore::~TraceStore() {
  abandon();
}

bool TraceStore::moved() const {
  // SQLite compares the inode it has open with the one the path names now (one stat).
  int has_moved = 0;
  return db_ &&
         sqlite3_file_control(db_.get(), "main", SQLITE_FCNTL_HAS_MOVED, &has_moved) == SQLITE_OK &&
         has_moved != 0;
}

void TraceStore::begin() {
  if (in_txn_) return;
  begin_.run();
  in_txn_ = true;
  txn_start_ = std::chrono::steady_clock::now();
}

void TraceStore::insert_run(int64_t id, const trace::RunInfo& info) {
  begin();
  Stmt& s = insert_run_;
  s.bind(1, id)
      .bind_text(2, info.model)
      .bind_text(3, info.model_dir)
      .bind_text(4, info.config_json)
      .bind_text(5, info.tokenizer)
      .bind_text(6, info.prompt)
      .bind_text(7, info.sampling_json)
      .bind_text(8, info.capture_json)
      .bind_text(9, info.machine_json)
      .bind_text(10, info.devices_json)
      .bind_text(11, info.layout_json)
      .bind(12, info.n_layers)
      .bind(13, info.n_experts)
      .bind(14, info.top_k)
      .bind(15, info.n_heads)
      .bind(16, info.n_kv_heads)
      .bind(17, info.vocab_size)
      .bind(18, info.start_unix_ns)
      .bind(19, info.start_ns)
      .bind(20, writer_.pid)
      .bind(21, writer_.start);
  s.run();
  commit();
}

void TraceStore::end_run(int64_t run, trace::RunStatus status, int64_t end_ns,
                         const std::string& error) {
  begin();
  // The run's last routing rows go out now; its coalescing buffers are not needed any more.
  for (auto it = routing_.lower_bound({run, std::numeric_limits<int32_t>::min()});
       it != routing_.end() && it->first.first == run;) {
    if (it->second.count > 0) write_routing_row(run, it->first.second, it->second);
    it = routing_.erase(it);
  }
  end_run_.bind(1, run)
      .bind_text(2, trace::run_status_name(status))
      .bind(3, end_ns)
      .bind_text(4, error)
      .run();
}

void TraceStore::token(int64_t run, const trace::TokenEvent& e) {
  begin();
  const int n_top = std::clamp(e.n_top, 0, trace::TokenEvent::kTop);
  insert_token_.bind(1, run)
      .bind(2, e.position)
      .bind(3, e.step)
      .bind(4, e.id)
      .bind_text(5, e.text)
      .bind_text(6, phase_name(e.phase))
      .bind(7, double(e.logprob))
      .bind_blob(8, e.top_ids, 4 * size_t(n_top))
      .bind_blob(9, e.top_logprobs, 4 * size_t(n_top))
      .bind(10, n_top)
      .bind(11, e.time_ns)
      .run();
  txn_bytes_ += 64 + e.text.size();
  ++txn_events_.tokens;
}

void TraceStore::routing(int64_t run, const trace::RoutingBlock& b) {
  begin();
  PendingRouting& p = routing_[{run, b.layer}];
  const size_t width =
      size_t(b.n_experts) * (b.logits ? 2 : 1) + 2 * size_t(b.top_k);  // 4-byte values per position
  if (p.count > 0) {
    // Extend the row only with the next positions, of the same shape, keeping its step pattern
    // (the whole row one step, or one step more per position) and its size bounded.
    const bool contiguous =
        b.p0 == p.pos0 + p.count && b.n_experts == p.n_experts && b.top_k == p.top_k;
    const bool same_step = p.stride != 1 && b.step == p.step0;
    const bool next_step = p.stride != 0 && b.t == 1 && b.step == p.step0 + p.count;
    if (contiguous && (same_step || next_step) && p.has_logits == (b.logits != nullptr) &&
        4 * width * size_t(p.count + b.t) <= kMaxRoutingRowBytes) {
      p.stride = same_step ? 0 : 1;
    } else {
      write_routing_row(run, b.layer, p);
    }
  }
  if (p.count == 0) {
    p.pos0 = b.p0;
    p.step0 = b.step;
    p.stride = b.t == 1 ? -1 : 0;
    p.n_experts = b.n_experts;
    p.top_k = b.top_k;
    p.has_logits = b.logits != nullptr;
  }
  const size_t t = size_t(b.t);
  p.probs.insert(p.probs.end(), b.probs, b.probs + t * size_t(b.n_experts));
  p.ids.insert(p.ids.end(), b.ids, b.ids + t * size_t(b.top_k));
  p.gates.insert(p.gates.end(), b.gates, b.gates + t * size_t(b.top_k));
  if (b.logits) p.logits.insert(p.logits.end(), b.logits, b.logits + t * size_t(b.n_experts));
  p.count += b.t;
  txn_bytes_ += 4 * width * t;
  ++txn_events_.routing;
  txn_routing_records_ += b.t;
}

void TraceStore::write_routing_row(int64_t run, int32_t layer, PendingRouting& p) {
  insert_routing_.bind(1, run)
      .bind(2, layer)
      .bind(3, p.pos0)
      .bind(4, p.count)
      .bind(5, p.n_experts)
      .bind(6, p.top_k)
      .bind(7, p.step0)
      .bind(8, int64_t(std::max(0, p.stride)))
      .bind_blob(9, p.probs.data(), 4 * p.probs.size())
      .bind_blob(10, p.ids.data(), 4 * p.ids.size())
      .bind_blob(11, p.gates.data(), 4 * p.gates.size());
  if (p.has_logits)
    insert_routing_.bind_blob(12, p.logits.data(), 4 * p.logits.size());
  else
    insert_routing_.bind_null(12);
  insert_routing_.run();
  // Keep the vectors' capacity: the next row of this layer reuses it.
  p.count = 0;
  p.probs.clear();
  p.ids.clear();
  p.gates.clear();
  p.logits.clear();
}

void TraceStore::attention(int64_t run, const trace::AttentionBlock& b) {
  begin();
  const size_t q = size_t(b.n_queries), n = size_t(b.n_keys);
  f16_.resize(q * n);
  for (size_t r = 0; r < q; ++r) {
    const float* row = b.probs + int64_t(r) * b.row_stride;
    for (size_t k = 0; k < n; ++k) f16_[r * n + k] = trace::f32_to_f16(row[k]);
  }
  insert_attention_.bind(1, run)
      .bind(2, b.step)
      .bind(3, b.layer)
      .bind(4, b.head)
      .bind(5, b.kv_head)
      .bind(6, b.q0)
      .bind(7, b.n_queries)
      .bind(8, b.n_keys)
      .bind_blob(9, f16_.data(), 2 * f16_.size())
      .run();
  txn_bytes_ += 2 * f16_.size();
  ++txn_events_.attention;
}

int64_t TraceStore::intern(const char* s) {
  const std::string key = s ? s : "";
  auto it = strings_.find(key);
  if (it != strings_.end()) return it->second;
  insert_string_.bind_text(1, key).run();
  select_string_.bind_text(1, key);
  const int64_t id = select_string_.step() ? select_string_.i64(0) : 0;
  select_string_.reset();
  strings_.emplace(key, id);
  return id;
}

void TraceStore::op(int64_t run, const trace::OpEvent& e) {
  begin();
  auto it = sites_.find(e.site);
  if (it == sites_.end()) {
    const char* name = e.site && e.site->name ? e.site->name : "(unnamed)";
    const char* kind = e.site && e.site->kind ? e.site->kind : "";
    it = sites_.emplace(e.site, std::make_pair(intern(name), intern(kind))).first;
  }
  insert_op_.bind(1, run)
      .bind(2, e.step)
      .bind(3, it->second.first)
      .bind(4, it->second.second)
      .bind(5, e.layer)
      .bind(6, e.expert)
      .bind(7, e.device)
      .bind(8, e.stream)
      .bind(9, e.start_ns)
      .bind(10, e.end_ns)
      .bind(11, e.bytes)
      .bind(12, e.flops)
      .run();
  txn_bytes_ += 64;
  ++txn_events_.ops;
}

void TraceStore::memory(int64_t run, const trace::MemorySample& m) {
  begin();
  insert_memory_.bind(1, run)
      .bind(2, m.step)
      .bind(3, m.time_ns)
      .bind(4, m.rss_bytes)
      .bind(5, m.peak_rss_bytes)
      .bind(6, m.attention_bytes)
      .run();
  txn_bytes_ += 48;
  ++txn_events_.memory;
}

void TraceStore::add_drops(int64_t run, const DropCounts& d) {
  if (d.total() == 0) return;
  begin();
  DropCounts& acc = drops_[run];
  acc.tokens += d.tokens;
  acc.routing += d.routing;
  acc.attention += d.attention;
  acc.ops += d.ops;
  acc.memory += d.memory;
}

void TraceStore::commit() {
  if (!in_txn_) return;
  // A deleted trace file takes writes without complaint (they go to an inode nobody can open)
  // and its WAL is left behind under the old name; a moved one splits from its WAL. Stop instead.
  if (moved())
    fail("trace ", path_,
         " was deleted or moved away while being written; nothing more is recorded to it");
  for (auto& [key, p] : routing_)
    if (p.count > 0) write_routing_row(key.first, key.second, p);
  for (const auto& [run, d] : drops_) {
    const std::pair<const char*, int64_t> kinds[] = {{"tokens", d.tokens},
                                                     {"routing", d.routing},
                                                     {"attention", d.attention},
                                                     {"ops", d.ops},
                                                     {"memory", d.memory}};
    for (const auto& [kind, n] : kinds)
      if (n > 0) upsert_drop_.bind(1, run).bind_text(2, kind).bind(3, n).run();
    update_run_drops_.bind(1, run)
        .bind(2, d.tokens)
        .bind(3, d.routing)
        .bind(4, d.attention)
        .bind(5, d.ops)
        .run();
  }
  drops_.clear();
  commit_.run();
  in_txn_ = false;
  txn_bytes_ = 0;
  txn_events_ = DropCounts();
  txn_routing_records_ = 0;
}

void TraceStore::abandon(const std::string& error) {
  if (!db_) return;
  if (in_txn_) sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
  in_txn_ = false;
  const bool gone = moved();
  if (!error.empty() && !gone) mark_running_runs_aborted(error);
  // Statements must be finalized before the connection can close.
  for (Stmt* s : {&begin_, &commit_, &rollback_, &insert_run_, &end_run_, &insert_token_,
                  &insert_routing_, &insert_op_, &insert_attention_, &insert_memory_, &upsert_drop_,
                  &update_run_drops_, &insert_string_, &select_string_})
    *s = Stmt();
  db_.close();
  // Closing a deleted database leaves its WAL and shared-memory files under the old name, where
  // nothing will ever read them. We still hold the writer lock, so they are ours to remove.
  if (gone && access(path_.c_str(), F_OK) != 0) {
    unlink((path_ + "-wal").c_str());
    unlink((path_ + "-shm").c_str());
  }
}

void TraceStore::mark_running_runs_aborted(const std::string& error) noexcept {
  // Without this the cut-short run reads as 'running' for as long as this process lives. Raw
  // calls, errors ignored: the file has already failed once and may fail again.
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_.get(),
                         "UPDATE runs SET status = 'aborted', error = ?1 "
                         "WHERE status = 'running' AND writer_pid = ?2",
                         -1, &s, nullptr) != SQLITE_OK)
    return;
  sqlite3_bind_text(s, 1, error.data(), int(error.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(s, 2, writer_.pid);
  sqlite3_step(s);
  sqlite3_finalize(s);
}

}  // namespace moescope::storage
