// Reads runs out of an open trace database (current schema): the run listing, whole runs, and
// the rows committed since a previous read. Used by TraceFile; one thread at a time.
//
// Every read happens in one read transaction, so a run is seen as of one commit of the writer,
// never half of one. Incremental reads continue where the previous read of that run stopped:
// routing, ops, attention and memory rows by rowid (rows are immutable and appended in rowid
// order), tokens by position.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "storage/run_data.h"
#include "storage/sqlite_util.h"

namespace moescope::storage {

class RunReader {
 public:
  explicit RunReader(Db& db) : db_(db) {}

  std::vector<RunSummary> runs();
  RunData load(int64_t run);
  bool refresh(RunData& run);

 private:
  // Where the last read of a run stopped, and how its file string ids map to run.strings.
  struct Cursor {
    int64_t routing_rowid = 0, ops_rowid = 0, attention_rowid = 0, memory_rowid = 0;
    size_t ops = 0, attention = 0,
           memory = 0;  // counts after the last read, to recognise the same RunData
    std::unordered_map<int64_t, int32_t> string_index;
  };

  // Fills the run row's fields; false when there is no such run.
  bool read_run_row(int64_t id, RunData& run);
  bool read_tokens(RunData& run);
  bool read_routing(RunData& run, Cursor& c);
  bool read_ops(RunData& run, Cursor& c);
  bool read_attention(RunData& run, Cursor& c);
  bool read_memory(RunData& run, Cursor& c);
  DropCounts read_drops(int64_t run);
  const std::string& file_string(int64_t id);
  [[noreturn]] void malformed(int64_t run, const std::string& what);

  Db& db_;
  std::map<int64_t, Cursor> cursors_;
  std::unordered_map<int64_t, std::string> strings_;  // file string id -> text
};

}  // namespace moescope::storage
