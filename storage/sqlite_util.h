// Thin RAII over the SQLite C API for the trace store: a connection and prepared statements whose
// failures throw moescope::Error with one line that names the trace file, what was being done,
// and what the SQLite result means for the user (style lesson 12's check helper).
#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace moescope::storage {

// SQLite's result code in words a user can act on: "the file is corrupt or truncated (database
// disk image is malformed)". db (may be null) supplies SQLite's own detail; for I/O and open
// errors sys_errno (errno right after the failing call, 0 if unknown) says what the system saw:
// "I/O error (disk I/O error: Read-only file system)".
std::string describe_sqlite(int rc, sqlite3* db, int sys_errno = 0);

// What a statement does, for messages: "reading routing", "writing ops", "committing".
std::string describe_statement(const std::string& sql);

// Throws Error("trace PATH: WHAT: DESCRIPTION").
[[noreturn]] void throw_sqlite(const std::string& path, const std::string& what, int rc,
                               sqlite3* db, int sys_errno = 0);

// One connection. Move-only; closes on destruction.
class Db {
 public:
  Db() = default;
  // flags: SQLITE_OPEN_* (plus SQLITE_OPEN_URI when path is a URI). display_path names the file
  // in errors (it differs from path for URIs and in-memory copies).
  Db(const std::string& path, int flags, const std::string& display_path);
  ~Db();
  Db(Db&& o) noexcept;
  Db& operator=(Db&& o) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* get() const { return db_; }
  const std::string& path() const { return path_; }
  explicit operator bool() const { return db_ != nullptr; }

  // Runs one or more statements without results; throws naming `what` on failure.
  void exec(const char* sql, const std::string& what);
  // Throws when rc is not SQLITE_OK / SQLITE_ROW / SQLITE_DONE.
  void check(int rc, const std::string& what) const;
  // A single integer result (e.g. a PRAGMA or a count); `fallback` when there is no row.
  int64_t query_int(const char* sql, const std::string& what, int64_t fallback = 0);
  void close();

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

// One prepared statement. Binding indices are 1-based, columns 0-based (as in SQLite).
class Stmt {
 public:
  Stmt() = default;
  Stmt(const Db& db, const char* sql);
  ~Stmt();
  Stmt(Stmt&& o) noexcept;
  Stmt& operator=(Stmt&& o) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, int32_t v) { return bind(i, int64_t(v)); }
  Stmt& bind(int i, double v);  // NaN is stored as NULL by SQLite; columns read it back as NaN
  Stmt& bind_text(int i, std::string_view v);
  Stmt& bind_blob(int i, const void* data, size_t bytes);
  Stmt& bind_null(int i);

  // True when a row is ready, false when done; throws naming `what_` on error.
  bool step();
  // step() until done, then reset(): for INSERT / UPDATE.
  void run();
  void reset();

  bool is_null(int col) const;
  int64_t i64(int col) const;
  double f64(int col) const;  // NaN for NULL
  std::string text(int col) const;
  const void* blob(int col) const;
  size_t bytes(int col) const;

 private:
  sqlite3_stmt* stmt_ = nullptr;
  std::string path_;  // for errors
};

// A read or write transaction that rolls back unless committed (exception safety for readers and
// for migrations; the writer thread manages its batched transactions itself).
class Transaction {
 public:
  Transaction(Db& db, const char* begin_sql, const std::string& what);
  ~Transaction();
  void commit();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

 private:
  Db& db_;
  std::string what_;
  bool open_ = true;
};

}  // namespace moescope::storage
