// The in-memory trace: every run seen by this process, live or loaded from a file. It is a
// TraceSink, fed by the trace writer's thread with the same events that go to SQLite (so the
// engine thread never waits on a reader), and read by the CLI, the analyses and the GUI.
//
// Thread safety: one writer at a time mutates under an exclusive lock; readers run a callback
// under a shared lock and must not keep references after it returns.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/trace/sink.h"
#include "storage/run_data.h"

namespace moescope::storage {

class TraceModel : public trace::TraceSink {
 public:
  // TraceSink. begin_run assigns the next free id; begin_run_with_id uses the writer's.
  int64_t begin_run(const RunInfo& info) override;
  void begin_run_with_id(int64_t id, const RunInfo& info);
  void end_run(int64_t run, RunStatus status, int64_t end_ns, const std::string& error) override;
  void token(int64_t run, const trace::TokenEvent& e) override;
  void routing(int64_t run, const trace::RoutingBlock& b) override;
  void attention(int64_t run, const trace::AttentionBlock& b) override;
  void op(int64_t run, const trace::OpEvent& e) override;
  void memory(int64_t run, const trace::MemorySample& s) override;
  void add_drops(int64_t run, const DropCounts& d);

  // Inserts or replaces a whole run (loaded from a file).
  void put(RunData run);

  // Runs fn on the run under a shared lock; false when there is no such run.
  bool read(int64_t run, const std::function<void(const RunData&)>& fn) const;
  std::vector<RunSummary> runs() const;
  // Changes with every mutation of any run.
  uint64_t version() const;

 private:
  RunData* find(int64_t run);  // with mutex_ held exclusively; bumps the versions
  mutable std::shared_mutex mutex_;
  std::map<int64_t, std::unique_ptr<RunData>> runs_;
  // Per run, the interned (name, kind) of each op site: sites are static, so their address is
  // a key that saves two string lookups per op.
  std::map<int64_t, std::unordered_map<const trace::OpSite*, std::pair<int32_t, int32_t>>> sites_;
  uint64_t version_ = 0;
};

// A RunSummary of a run.
RunSummary summarize(const RunData& run);

}  // namespace moescope::storage
