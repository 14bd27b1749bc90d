// RAII wrappers over SQLite connections and statements, and the mapping from SQLite result codes
// to one-line errors that name the trace file.
#include "storage/sqlite_util.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <utility>
#include <vector>

#include "engine/core/error.h"

namespace moescope::storage {

std::string describe_sqlite(int rc, sqlite3* db, int sys_errno) {
  std::string detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  // "disk I/O error" alone does not say whether the disk failed or went read-only. SQLite keeps
  // the errno of some failing calls; a failed commit's is only in errno itself.
  const int sys = sys_errno ? sys_errno : db ? sqlite3_system_errno(db) : 0;
  if (sys != 0 && ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_CANTOPEN))
    detail += cat(": ", std::strerror(sys));
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
      return "the file is corrupt or truncated (" + detail + ")";
    case SQLITE_NOTADB:
      return "not an SQLite database, so not a moescope trace (" + detail + ")";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "locked by another process (" + detail + ")";
    case SQLITE_FULL:
      return "the disk or the file's size limit is full (" + detail + ")";
    case SQLITE_READONLY:
      return "the file or its directory is read-only (" + detail + ")";
    case SQLITE_CANTOPEN:
      return "cannot be opened (" + detail + ")";
    case SQLITE_IOERR:
      return "I/O error (" + detail + ")";
    case SQLITE_NOMEM:
      return "out of memory (" + detail + ")";
    default:
      return detail;
  }
}

std::string describe_statement(const std::string& sql) {
  std::istringstream in(sql);
  std::vector<std::string> words;
  for (std::string w; in >> w && words.size() < 8;) {
    w = w.substr(0, w.find_first_of("(,;"));
    words.push_back(w);
  }
  auto after = [&](const char* key) -> std::string {
    for (size_t i = 0; i + 1 < words.size(); ++i)
      if (words[i] == key) return words[i + 1];
    return "?";
  };
  if (words.empty()) return "running a statement";
  const std::string& verb = words[0];
  if (verb == "SELECT") return "reading " + after("FROM");
  if (verb == "INSERT") return "writing " + after("INTO");
  if (verb == "UPDATE") return "updating " + words[std::min<size_t>(1, words.size() - 1)];
  if (verb == "BEGIN") return "starting a transaction";
  if (verb == "COMMIT") return "committing";
  if (verb == "ROLLBACK") return "rolling back";
  if (verb == "PRAGMA") return "setting " + words[std::min<size_t>(1, words.size() - 1)];
  return "running " + verb;
}

void throw_sqlite(const std::string& path, const std::string& what, int rc, sqlite3* db,
                  int sys_errno) {
  fail("trace ", path, ": ", what, ": ", describe_sqlite(rc, db, sys_errno));
}

// ---- Db --------------------------------------------------------------------------------------

Db::Db(const std::string& path, int flags, const std::string& display_path) : path_(display_path) {
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string msg = describe_sqlite(rc, db_);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    fail("trace ", path_, ": ", msg);
  }
  // Extended codes tell SQLITE_IOERR_* apart in messages; the mapping above masks them.
  sqlite3_extended_result_codes(db_, 1);
}

Db::~Db() {
  close();
}

Db::Db(Db&& o) noexcept : db_(std::exchange(o.db_, nullptr)), path_(std::move(o.path_)) {}

Db& Db::operator=(Db&& o) noexcept {
  if (this != &o) {
    close();
    db_ = std::exchange(o.db_, nullptr);
    path_ = std::move(o.path_);
  }
  return *this;
}

void Db::close() {
  if (db_) sqlite3_close_v2(db_);
  db_ = nullptr;
}

void Db::exec(const char* sql, const std::string& what) {
  errno = 0;  // a stale errno must not explain an error that had no failing system call
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  const int sys = errno;
  if (rc != SQLITE_OK) throw_sqlite(path_, what, rc, db_, sys);
}

void Db::check(int rc, const std::string& what) const {
  if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE) return;
  throw_sqlite(path_, what, rc, db_);
}

int64_t Db::query_int(const char* sql, const std::string& what, int64_t fallback) {
  Stmt s(*this, sql);
  return s.step() && !s.is_null(0) ? s.i64(0) : fallback;
}

// ---- Stmt ------------------------------------------------------------------------------------

Stmt::Stmt(const Db& db, const char* sql) : path_(db.path()) {
  const int rc = sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr);
  // Usually a schema that is not ours ("no such table: runs" says which part is missing), or a
  // damaged one.
  if (rc != SQLITE_OK) throw_sqlite(path_, describe_statement(sql), rc, db.get());
}

Stmt::~Stmt() {
  if (stmt_) sqlite3_finalize(stmt_);
}

Stmt::Stmt(Stmt&& o) noexcept : stmt_(std::exchange(o.stmt_, nullptr)), path_(std::move(o.path_)) {}

Stmt& Stmt::operator=(Stmt&& o) noexcept {
  if (this != &o) {
    if (stmt_) sqlite3_finalize(stmt_);
    stmt_ = std::exchange(o.stmt_, nullptr);
    path_ = std::move(o.path_);
  }
  return *this;
}

Stmt& Stmt::bind(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
  return *this;
}

Stmt& Stmt::bind(int i, double v) {
  sqlite3_bind_double(stmt_, i, v);
  return *this;
}

Stmt& Stmt::bind_text(int i, std::string_view v) {
  // SQLITE_STATIC: callers keep the bytes alive until the statement has been stepped.
  sqlite3_bind_text(stmt_, i, v.data(), int(v.size()), SQLITE_STATIC);
  return *this;
}

Stmt& Stmt::bind_blob(int i, const void* data, size_t bytes) {
  // A zero-length blob must still be a blob, not NULL: give SQLite a valid pointer.
  static const char kEmpty = 0;
  sqlite3_bind_blob64(stmt_, i, bytes ? data : &kEmpty, bytes, SQLITE_STATIC);
  return *this;
}

Stmt& Stmt::bind_null(int i) {
  sqlite3_bind_null(stmt_, i);
  return *this;
}

bool Stmt::step() {
  errno = 0;  // see Db::exec
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const int sys = errno;
  sqlite3* db = sqlite3_db_handle(stmt_);
  const std::string what = describe_statement(sqlite3_sql(stmt_));
  sqlite3_reset(stmt_);
  throw_sqlite(path_, what, rc, db, sys);
}

void Stmt::run() {
  while (step()) {
  }
  reset();
}

void Stmt::reset() {
  // Bindings stay: every caller binds every parameter before the next step.
  sqlite3_reset(stmt_);
}

bool Stmt::is_null(int col) const {
  return sqlite3_column_type(stmt_, col) == SQLITE_NULL;
}

int64_t Stmt::i64(int col) const {
  return sqlite3_column_int64(stmt_, col);
}

double Stmt::f64(int col) const {
  if (is_null(col)) return std::numeric_limits<double>::quiet_NaN();
  return sqlite3_column_double(stmt_, col);
}

std::string Stmt::text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  return p ? std::string(p, size_t(sqlite3_column_bytes(stmt_, col))) : std::string();
}

const void* Stmt::blob(int col) const {
  return sqlite3_column_blob(stmt_, col);
}

size_t Stmt::bytes(int col) const {
  return size_t(sqlite3_column_bytes(stmt_, col));
}

// ---- Transaction -----------------------------------------------------------------------------

Transaction::Transaction(Db& db, const char* begin_sql, const std::string& what)
    : db_(db), what_(what) {
  db_.exec(begin_sql, what_);
}

Transaction::~Transaction() {
  if (open_) sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.exec("COMMIT", what_);
  open_ = false;
}

}  // namespace moescope::storage
