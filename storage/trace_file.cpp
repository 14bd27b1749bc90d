// Read-only access to a trace file (see trace_file.h).
//
// The file is opened with SQLITE_OPEN_READONLY: in WAL mode that never blocks the writer, and a
// reader can follow a run while it is written. A file of an older schema is copied into memory
// and migrated there by the same migrations a writer would run, so one reader serves every
// version without touching the file.
#include "storage/trace_file.h"

#include <sqlite3.h>

#include "engine/core/error.h"
#include "storage/file_checks.h"
#include "storage/run_reader.h"
#include "storage/schema.h"

namespace moescope::storage {

namespace {

class TraceFileImpl final : public TraceFile {
 public:
  TraceFileImpl(std::string path, Db db, int version)
      : path_(std::move(path)), db_(std::move(db)), version_(version), reader_(db_) {}

  const std::string& path() const override { return path_; }
  int schema_version() const override { return version_; }
  std::vector<RunSummary> runs() override { return reader_.runs(); }
  RunData load(int64_t run) override { return reader_.load(run); }
  bool refresh(RunData& run) override { return reader_.refresh(run); }

 private:
  std::string path_;
  Db db_;
  int version_;
  RunReader reader_;
};

// An older file, migrated in memory: the file itself stays as it is (its writer may be an older
// moescope, and readers never write).
Db migrated_copy(Db& file, int version) {
  Db mem(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, file.path());
  sqlite3_backup* b = sqlite3_backup_init(mem.get(), "main", file.get(), "main");
  if (!b) mem.check(sqlite3_errcode(mem.get()), "copying an old schema into memory");
  const int rc = sqlite3_backup_step(b, -1);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE)
    throw_sqlite(file.path(), "copying an old schema into memory", rc, nullptr);
  Transaction t(mem, "BEGIN", "migrating in memory");
  migrate(mem, version);
  t.commit();
  return mem;
}

}  // namespace

std::unique_ptr<TraceFile> TraceFile::open(const std::string& path) {
  switch (check_trace_file(path)) {
    case FileState::Missing:
      fail("trace ", path, " does not exist");
    case FileState::Empty:
      fail("trace ", path, " is empty, not a moescope trace");
    case FileState::Database:
      break;
  }
  Db db(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, path);
  // A writer checkpointing, or another reader recovering the WAL index, holds a lock briefly.
  sqlite3_busy_timeout(db.get(), 5000);
  const int version = read_schema_version(db);
  if (version < kSchemaVersion) db = migrated_copy(db, version);
  return std::make_unique<TraceFileImpl>(path, std::move(db), version);
}

}  // namespace moescope::storage
