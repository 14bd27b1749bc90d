// Bad trace files and failing disks: each gets one clear line naming the file, and nothing
// already written is lost or changed.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "storage/schema.h"
#include "storage/trace_file.h"
#include "storage/trace_model.h"
#include "storage/trace_writer.h"
#include "tests/common/expect_error.h"
#include "tests/common/test_paths.h"
#include "tests/storage/trace_test_util.h"

namespace moescope {
namespace {

namespace fs = std::filesystem;
using storage::RunData;
using storage::TraceFile;
using storage::TraceModel;
using storage::TraceWriter;
using storage::WriterOptions;

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

void sql(const std::string& path, const std::string& statements) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db, statements.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
  sqlite3_close(db);
}

// A finished trace with one run of a few steps (several pages long).
std::string make_trace(const std::string& dir, const std::string& name = "good.db") {
  const std::string path = dir + "/" + name;
  auto w = TraceWriter::open(path, {});
  const int64_t id = w->begin_run(test::sample_info());
  test::Script s;
  s.decode = 30;
  s.play(*w, id);
  w->end_run(id, trace::RunStatus::Complete, 1, "");
  return path;
}

TEST(TraceErrors, MissingFileDirectoryAndEmptyFile) {
  const std::string dir = test::make_temp_dir("trace-err-missing");
  test::expect_error([&] { TraceFile::open(dir + "/nope.db"); },
                     {dir + "/nope.db", "does not exist"});
  test::expect_error([&] { TraceFile::open(dir); }, {dir, "is a directory"});
  write_bytes(dir + "/empty.db", "");
  test::expect_error([&] { TraceFile::open(dir + "/empty.db"); },
                     {dir + "/empty.db", "is empty, not a moescope trace"});
  test::expect_error([&] { TraceWriter::open(dir + "/no/such/dir/t.db", {}); },
                     {dir + "/no/such/dir/t.db", "cannot create the writer lock"});
}

TEST(TraceErrors, RandomBytesAreNotATrace) {
  const std::string dir = test::make_temp_dir("trace-err-random");
  const std::string path = dir + "/random.db";
  std::mt19937 rng(7);
  std::string bytes(8192, 0);
  for (char& c : bytes) c = char(rng());
  write_bytes(path, bytes);
  for (int writer = 0; writer < 2; ++writer) {
    test::expect_error(
        [&] {
          if (writer)
            TraceWriter::open(path, {});
          else
            TraceFile::open(path);
        },
        {path, "not an SQLite database", "file is not a database"});
  }
  EXPECT_EQ(read_bytes(path), bytes) << "a refused file must not be touched";
}

TEST(TraceErrors, SqliteDatabaseThatIsNotATrace) {
  const std::string dir = test::make_temp_dir("trace-err-other");
  const std::string path = dir + "/other.db";
  sql(path, "CREATE TABLE notes(x); INSERT INTO notes VALUES(1);");
  test::expect_error([&] { TraceFile::open(path); }, {path, "not a moescope trace"});
  test::expect_error([&] { TraceWriter::open(path, {}); }, {path, "not a moescope trace"});
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &s, nullptr);
  sqlite3_step(s);
  EXPECT_EQ(sqlite3_column_int(s, 0), 1) << "the writer added tables to someone else's database";
  sqlite3_finalize(s);
  sqlite3_close(db);
}

TEST(TraceErrors, TruncatedCopyOfARealTrace) {
  const std::string dir = test::make_temp_dir("trace-err-trunc");
  const std::string good = make_trace(dir);
  const std::string bytes = read_bytes(good);
  ASSERT_GT(bytes.size(), 8u * 8192) << "the trace should span many pages";
  const std::string cut = dir + "/cut.db";
  write_bytes(cut, bytes.substr(0, bytes.size() / 2));
  test::expect_error([&] { TraceFile::open(cut); }, {cut, "is truncated", "an incomplete copy"});
  test::expect_error([&] { TraceWriter::open(cut, {}); }, {cut, "is truncated"});
  EXPECT_EQ(read_bytes(cut).size(), bytes.size() / 2);
  write_bytes(dir + "/tiny.db", bytes.substr(0, 60));
  test::expect_error([&] { TraceFile::open(dir + "/tiny.db"); }, {dir + "/tiny.db", "truncated"});
  // The original is intact.
  EXPECT_EQ(TraceFile::open(good)->load(1).n_positions(), 12 + 30);
}

TEST(TraceErrors, CorruptPagesAndDamagedRows) {
  const std::string dir = test::make_temp_dir("trace-err-corrupt");
  const std::string good = make_trace(dir);
  // Every page after the first overwritten: the schema is readable, the tables are not.
  std::string bytes = read_bytes(good);
  for (size_t i = 8192; i < bytes.size(); ++i) bytes[i] = char(0xA5 ^ (i * 31));
  const std::string bad = dir + "/corrupt.db";
  write_bytes(bad, bytes);
  test::expect_error(
      [&] {
        auto f = TraceFile::open(bad);
        f->load(1);
      },
      {bad, "corrupt"});

  // A row whose blob does not match its counts.
  const std::string damaged = make_trace(dir, "damaged.db");
  sql(damaged, "UPDATE routing SET probs = x'0102' WHERE rowid = (SELECT min(rowid) FROM routing)");
  test::expect_error([&] { TraceFile::open(damaged)->load(1); },
                     {damaged, "run 1", "routing of layer", "damaged"});
}

TEST(TraceErrors, NewerSchemaIsRefusedAndLeftAlone) {
  const std::string dir = test::make_temp_dir("trace-err-newer");
  const std::string path = make_trace(dir);
  sql(path, "UPDATE meta SET value = '5' WHERE key = 'schema_version'");
  const std::string before = read_bytes(path);
  test::expect_error([&] { TraceFile::open(path); },
                     {path, "written by a newer moescope (schema 5; this build reads up to " +
                                std::to_string(storage::kSchemaVersion) + ")"});
  test::expect_error([&] { TraceWriter::open(path, {}); }, {path, "newer moescope", "schema 5"});
  EXPECT_EQ(read_bytes(path), before);
}

TEST(TraceErrors, SecondWriterIsRefusedReadersStillWork) {
  const std::string dir = test::make_temp_dir("trace-err-lock");
  const std::string path = dir + "/busy.db";
  auto first = TraceWriter::open(path, {});
  const int64_t id = first->begin_run(test::sample_info());
  test::expect_error([&] { TraceWriter::open(path, {}); },
                     {path, "is being written by process " + std::to_string(getpid())});
  // Readers are never refused.
  first->token(id, test::make_token(0, 0, trace::TokenPhase::Prompt));
  first->flush();
  EXPECT_EQ(TraceFile::open(path)->load(id).n_positions(), 1);
  first.reset();
  EXPECT_FALSE(fs::exists(path + ".lock")) << "a clean close removes the lock file";
  EXPECT_NO_THROW(TraceWriter::open(path, {}));
}

TEST(TraceErrors, FullDiskIsReportedOnceAndCommittedDataSurvives) {
  const std::string dir = test::make_temp_dir("trace-err-full");
  const std::string path = dir + "/full.db";
  TraceModel model;
  WriterOptions o;
  o.model = &model;
  o.max_file_bytes = 512 << 10;  // SQLite's max_page_count: behaves as a full disk
  auto w = TraceWriter::open(path, o);
  const int64_t id = w->begin_run(test::sample_info());
  test::Script s;
  s.decode = 100000;
  int64_t committed_tokens = 0;
  int64_t step = 0;
  for (; step < 5000 && w->error().empty(); ++step) {
    s.play_steps(*w, id, step, step);
    w->flush();
    if (w->error().empty()) committed_tokens = s.prompt + step;
  }
  const std::string error = w->error();
  ASSERT_FALSE(error.empty()) << "the size cap was never reached";
  EXPECT_EQ(error.find('\n'), std::string::npos);
  EXPECT_NE(error.find(path), std::string::npos) << error;
  EXPECT_NE(error.find("full"), std::string::npos) << error;
  // Generation goes on: calls return, flush returns, the live model keeps growing, and what no
  // longer reaches the file is counted.
  for (int64_t more = 0; more < 5; ++more) s.play_steps(*w, id, step + more, step + more);
  w->end_run(id, trace::RunStatus::Complete, 2, "");
  w->flush();
  EXPECT_EQ(w->error(), error) << "reported once";
  EXPECT_GT(w->stats().dropped.total(), 0);
  int64_t live_tokens = 0;
  model.read(id, [&](const RunData& r) { live_tokens = r.n_positions(); });
  EXPECT_EQ(live_tokens, s.prompt + step + 4);
  w.reset();

  auto file = TraceFile::open(path);
  const RunData run = file->load(id);
  EXPECT_GE(run.n_positions(), committed_tokens);
  EXPECT_LT(run.n_positions(), live_tokens);
  for (int64_t p = 0; p < run.n_positions(); ++p)
    ASSERT_EQ(run.tokens[size_t(p)].id, test::make_token(p, 0, {}).id);
}

}  // namespace
}  // namespace moescope
