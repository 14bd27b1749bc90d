// The SQLite trace store's write side: a TraceSink whose calls only copy events into bounded
// queues; one writer thread drains them into the file with prepared statements in batched
// transactions (WAL), and feeds an optional TraceModel with the same events.
//
// The engine never blocks on disk: when a queue is full the event is dropped and the drop is
// counted (in the file's drops table and the run's counters). A failing disk (full, read-only,
// deleted underneath) is reported once through error(); generation goes on and everything
// committed before stays readable.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/trace/sink.h"
#include "storage/run_data.h"

namespace moescope::storage {

class TraceModel;

struct WriterOptions {
  size_t queue_bytes = size_t(64) << 20;  // bound on queued event payload
  int commit_interval_ms = 50;            // the longest an event waits before it is committed
  int writer_nice = 10;                   // the writer thread's niceness (0 = the engine's)
  TraceModel* model = nullptr;            // fed with every event, after it is dequeued
  // Caps the file's size (SQLite's max_page_count); 0 = no cap. Reaching it is handled like a
  // full disk: reported once through error(), everything committed before stays readable.
  int64_t max_file_bytes = 0;
};

struct WriterStats {
  int64_t events_written = 0;
  int64_t routing_records = 0;  // (position, layer) decisions written
  int64_t commits = 0;
  int64_t bytes_queued = 0;  // now: copied in, not yet processed by the writer thread
  int64_t bytes_queued_peak = 0;
  DropCounts dropped;
};

class TraceWriter : public trace::TraceSink {
 public:
  // Creates the file or opens an existing trace (migrating older schemas forward). Throws
  // moescope::Error naming the file when it cannot be written, is not a trace, is locked by
  // another writer, or has a newer schema than this build understands.
  static std::unique_ptr<TraceWriter> open(const std::string& path, const WriterOptions& options);
  ~TraceWriter() override;  // drains the queues, commits, closes

  int64_t begin_run(const RunInfo& info) override;
  void end_run(int64_t run, RunStatus status, int64_t end_ns, const std::string& error) override;
  void token(int64_t run, const trace::TokenEvent& e) override;
  void routing(int64_t run, const trace::RoutingBlock& b) override;
  void attention(int64_t run, const trace::AttentionBlock& b) override;
  void op(int64_t run, const trace::OpEvent& e) override;
  void memory(int64_t run, const trace::MemorySample& s) override;

  // Blocks until every event queued before the call is committed (or dropped after an error).
  void flush();
  WriterStats stats() const;
  // The first write error, or "" (reported once; later events are counted as dropped).
  std::string error() const;
  const std::string& path() const;

 protected:
  TraceWriter() = default;
};

}  // namespace moescope::storage
