// The write side of a trace file as the writer thread sees it: the opened and locked database,
// its prepared statements, the routing rows being coalesced, and the batched transaction.
//
// Opened on the caller's thread (so open errors reach the caller), then used by the writer thread
// alone. Every method throws moescope::Error naming the file when SQLite fails; the writer thread
// turns the first such error into TraceWriter::error() and stops writing.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/trace/events.h"
#include "storage/process_info.h"
#include "storage/run_data.h"
#include "storage/sqlite_util.h"
#include "storage/writer_lock.h"

namespace moescope::storage {

struct WriterOptions;

class TraceStore {
 public:
  // Claims the file (WriterLock), checks it, sets WAL, creates or migrates the schema, and marks
  // runs left 'running' by a writer that is gone as aborted.
  static std::unique_ptr<TraceStore> open(const std::string& path, const WriterOptions& options);
  ~TraceStore();

  // The id the next run gets (also when writing has failed: the model still needs ids).
  int64_t next_run_id() const { return next_run_id_; }
  // Inserts the run row (id = next_run_id()) and commits at once, so readers see the run.
  void insert_run(int64_t id, const trace::RunInfo& info);
  void end_run(int64_t run, trace::RunStatus status, int64_t end_ns, const std::string& error);
  void token(int64_t run, const trace::TokenEvent& e);
  void routing(int64_t run, const trace::RoutingBlock& b);
  void attention(int64_t run, const trace::AttentionBlock& b);
  void op(int64_t run, const trace::OpEvent& e);
  void memory(int64_t run, const trace::MemorySample& s);
  void add_drops(int64_t run, const DropCounts& d);

  // Writes the coalesced routing rows and drop counts, and commits (no-op when nothing is open).
  void commit();
  bool in_transaction() const { return in_txn_; }
  // Payload bytes in the open transaction (the writer commits early when it grows large).
  size_t transaction_bytes() const { return txn_bytes_; }
  // What the open transaction holds; lost from the file if it fails.
  const DropCounts& transaction_events() const { return txn_events_; }
  int64_t transaction_routing_records() const { return txn_routing_records_; }
  std::chrono::steady_clock::time_point transaction_start() const { return txn_start_; }
  // After a failure: rolls back what is open, marks this writer's running runs aborted with
  // `error` when the file still takes that one small write (best effort: a full disk may not),
  // and closes the file (the lock is released last).
  void abandon(const std::string& error = "");
  // True when the path no longer names the file this store writes (deleted or moved away).
  bool moved() const;

  const std::string& path() const { return path_; }

 private:
  // One routing row being coalesced. Its steps follow step0 + i * stride; a one-position row
  // may still become either pattern (stride -1 until the second block decides).
  struct PendingRouting {
    int64_t pos0 = 0, count = 0, step0 = 0;
    int32_t n_experts = 0, top_k = 0, stride = 0;
    bool has_logits = false;
    std::vector<float> probs, gates, logits;  // [count, E], [count, K], [count, E] or empty
    std::vector<int32_t> ids;                 // [count, K]
  };

  TraceStore() = default;
  void begin();
  void mark_running_runs_aborted(const std::string& error) noexcept;
  void write_routing_row(int64_t run, int32_t layer, PendingRouting& p);
  int64_t intern(const char* s);

  std::string path_;
  WriterLock lock_;
  Db db_;
  Stmt begin_, commit_, rollback_, insert_run_, end_run_, insert_token_, insert_routing_,
      insert_op_, insert_attention_, insert_memory_, upsert_drop_, update_run_drops_,
      insert_string_, select_string_;
  bool in_txn_ = false;
  std::chrono::steady_clock::time_point txn_start_;
  size_t txn_bytes_ = 0;
  DropCounts txn_events_;
  int64_t txn_routing_records_ = 0;
  int64_t next_run_id_ = 1;
  ProcessId writer_;  // recorded on every run, so readers can tell a dead writer
  std::map<std::pair<int64_t, int32_t>, PendingRouting> routing_;  // (run, layer)
  std::map<int64_t, DropCounts> drops_;                            // not yet written
  std::unordered_map<const trace::OpSite*, std::pair<int64_t, int64_t>> sites_;
  std::unordered_map<std::string, int64_t> strings_;
  std::vector<uint16_t> f16_;  // scratch for attention
};

}  // namespace moescope::storage
