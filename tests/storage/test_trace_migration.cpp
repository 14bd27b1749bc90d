// Schema migration: the v1 fixture (tests/storage/fixtures/make_trace_v1.py) reads correctly as
// it is, and a writer opening it migrates it forward to the current schema without losing or
// changing anything. The same for a v2 file (v3 without the memory table, so made here from a
// v3 file by dropping it).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/trace/half.h"
#include "storage/schema.h"
#include "storage/trace_file.h"
#include "storage/trace_writer.h"
#include "tests/common/test_paths.h"
#include "tests/storage/trace_test_util.h"

namespace moescope {
namespace {

using storage::RunData;
using storage::TraceFile;
using storage::TraceWriter;

std::string fixture() {
  return test::source_dir() + "/tests/storage/fixtures/trace-v1.db";
}

std::string copy_fixture(const std::string& tag) {
  const std::string path = test::make_temp_dir(tag) + "/trace-v1.db";
  std::filesystem::copy_file(fixture(), path);
  return path;
}

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

std::string meta_version(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &s, nullptr);
  std::string v =
      sqlite3_step(s) == SQLITE_ROW ? reinterpret_cast<const char*>(sqlite3_column_text(s, 0)) : "";
  sqlite3_finalize(s);
  sqlite3_close(db);
  return v;
}

// The values make_trace_v1.py wrote.
void expect_fixture_run(const RunData& run) {
  EXPECT_EQ(run.info.model, "tiny-v1");
  EXPECT_EQ(run.info.prompt, "Hello, world!");
  EXPECT_EQ(run.info.devices_json, "[\"cpu\"]");
  EXPECT_EQ(run.info.n_layers, 2);
  EXPECT_EQ(run.info.n_experts, 4);
  EXPECT_EQ(run.info.top_k, 2);
  EXPECT_EQ(run.info.vocab_size, 32);
  EXPECT_EQ(run.info.start_unix_ns, 1700000000000000000);
  EXPECT_EQ(run.status, trace::RunStatus::Complete);
  EXPECT_EQ(run.end_ns, 9000);
  EXPECT_EQ(run.error, "");
  ASSERT_EQ(run.tokens.size(), 6u);
  const char* texts[] = {"\xe2\x96\x81Hello", ",", " world", "!", " How", " are"};
  for (int p = 0; p < 6; ++p) {
    const auto& t = run.tokens[size_t(p)];
    EXPECT_EQ(t.id, 10 + p);
    EXPECT_EQ(t.text, texts[p]);
    EXPECT_EQ(t.step, p < 4 ? 0 : p - 3);
    EXPECT_EQ(t.phase, p < 4 ? trace::TokenPhase::Prompt : trace::TokenPhase::Generated);
    if (p == 0)
      EXPECT_TRUE(std::isnan(t.logprob));
    else
      EXPECT_FLOAT_EQ(t.logprob, -0.5f * float(p));
    ASSERT_EQ(t.n_top, 2);
    EXPECT_EQ(t.top_ids[1], 20 + p);
    EXPECT_EQ(t.top_logprobs[1], -1.5f);
  }
  ASSERT_EQ(run.routing.size(), 2u);
  for (int l = 0; l < 2; ++l) {
    const auto& r = run.routing[size_t(l)];
    ASSERT_EQ(r.present.size(), 6u);
    for (int p = 0; p < 6; ++p) {
      EXPECT_EQ(r.present[size_t(p)], 1);
      EXPECT_EQ(r.step[size_t(p)], p < 4 ? 0 : p - 3);
      EXPECT_EQ(r.ids[size_t(p * 2)], (p + l) % 4);
      EXPECT_EQ(r.ids[size_t(p * 2 + 1)], (p + l + 1) % 4);
      EXPECT_EQ(r.gates[size_t(p * 2)], 0.75f);
      for (int e = 0; e < 4; ++e) EXPECT_EQ(r.probs[size_t(p * 4 + e)], 0.1f * float(e + 1));
    }
  }
  ASSERT_EQ(run.ops.size(), 12u);
  EXPECT_EQ(run.strings[size_t(run.ops[0].name)], "attn.q_proj");
  EXPECT_EQ(run.strings[size_t(run.ops[1].name)], "moe.expert.up");
  EXPECT_EQ(run.strings[size_t(run.ops[1].kind)], "unknown");  // v1 had no kinds
  EXPECT_EQ(run.ops[3].expert, 1);
  EXPECT_EQ(run.ops[11].start_ns, 1000 + 11 * 100);
  EXPECT_EQ(run.ops[11].end_ns, 1000 + 11 * 100 + 50);
  ASSERT_EQ(run.attention.size(), 1u);
  EXPECT_EQ(run.attention[0].at(0, 0), 1.0f);
  EXPECT_EQ(run.attention[0].at(1, 1), 0.5f);
  EXPECT_EQ(run.drops.ops, 3);
  EXPECT_EQ(run.drops.routing, 1);
  EXPECT_EQ(run.drops.tokens, 0);
}

TEST(TraceMigration, FixtureIsVersion1) {
  ASSERT_TRUE(test::file_exists(fixture())) << fixture();
  EXPECT_EQ(meta_version(fixture()), "1");
  EXPECT_LT(read_bytes(fixture()).size(), 100u << 10);
}

TEST(TraceMigration, ReaderReadsVersion1WithoutChangingIt) {
  const std::string path = copy_fixture("trace-v1-read");
  const std::string before = read_bytes(path);
  auto file = TraceFile::open(path);
  EXPECT_EQ(file->schema_version(), 1);
  const auto runs = file->runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].prompt_tokens, 4);
  EXPECT_EQ(runs[0].generated_tokens, 2);
  // Run 2 was left 'running' by a v1 writer, which recorded no pid: it is gone.
  EXPECT_EQ(runs[1].status, trace::RunStatus::Aborted);
  expect_fixture_run(file->load(1));
  EXPECT_NE(file->load(2).error.find("ended without finishing"), std::string::npos);
  RunData run = file->load(1);
  EXPECT_FALSE(file->refresh(run));
  file.reset();
  EXPECT_EQ(read_bytes(path), before);
}

TEST(TraceMigration, WriterMigratesVersion1Forward) {
  const std::string path = copy_fixture("trace-v1-migrate");
  const RunData before = TraceFile::open(path)->load(1);
  {
    auto w = TraceWriter::open(path, {});
    EXPECT_EQ(meta_version(path), std::to_string(storage::kSchemaVersion));
    const int64_t id = w->begin_run(test::sample_info(2, 4, 2));
    EXPECT_EQ(id, 3);
    test::Script s;
    s.layers = 2;
    s.experts = 4;
    s.prompt = 3;
    s.decode = 2;
    s.play(*w, id);
    w->end_run(id, trace::RunStatus::Complete, 1, "");
  }
  auto file = TraceFile::open(path);
  EXPECT_EQ(file->schema_version(), storage::kSchemaVersion);
  const RunData after = file->load(1);
  expect_fixture_run(after);
  test::expect_same_run(before, after);
  const auto runs = file->runs();
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[1].status, trace::RunStatus::Aborted);  // now stored, not inferred
  EXPECT_EQ(file->load(3).n_positions(), 5);
  // The migrated ops share the string table with new ones.
  const RunData r3 = file->load(3);
  EXPECT_EQ(r3.strings[size_t(r3.ops[0].name)], "attn.q_proj");
  EXPECT_EQ(r3.strings[size_t(r3.ops[0].kind)], "matmul");
}

// A file as schema 2 wrote it: one run of the script, no memory table.
std::string make_v2_file(const std::string& tag, const test::Script& script) {
  const std::string path = test::make_temp_dir(tag) + "/trace-v2.db";
  {
    auto w = TraceWriter::open(path, {});
    const int64_t id = w->begin_run(test::sample_info());
    script.play(*w, id);
    w->end_run(id, trace::RunStatus::Complete, 9'000'000'000, "");
  }
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db,
                         "DROP INDEX memory_run; DROP TABLE memory; "
                         "UPDATE meta SET value = '2' WHERE key = 'schema_version'",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  EXPECT_EQ(meta_version(path), "2");
  return path;
}

TEST(TraceMigration, ReaderReadsVersion2WithoutChangingIt) {
  test::Script script;
  script.memory = false;
  const std::string path = make_v2_file("trace-v2-read", script);
  const std::string before = read_bytes(path);
  auto file = TraceFile::open(path);
  EXPECT_EQ(file->schema_version(), 2);
  RunData run = file->load(1);
  EXPECT_EQ(run.n_positions(), script.prompt + script.decode);
  EXPECT_TRUE(run.memory.empty());
  EXPECT_FALSE(file->refresh(run));
  file.reset();
  EXPECT_EQ(read_bytes(path), before);
}

TEST(TraceMigration, WriterMigratesVersion2Forward) {
  test::Script script;
  script.memory = false;
  const std::string path = make_v2_file("trace-v2-migrate", script);
  const RunData before = TraceFile::open(path)->load(1);
  {
    auto w = TraceWriter::open(path, {});
    EXPECT_EQ(meta_version(path), std::to_string(storage::kSchemaVersion));
    const int64_t id = w->begin_run(test::sample_info());
    EXPECT_EQ(id, 2);
    test::Script with_memory;
    with_memory.play(*w, id);
    w->end_run(id, trace::RunStatus::Complete, 1, "");
  }
  auto file = TraceFile::open(path);
  EXPECT_EQ(file->schema_version(), storage::kSchemaVersion);
  test::expect_same_run(before, file->load(1));
  EXPECT_EQ(file->load(2).memory.size(), size_t(script.decode + 1));
}

}  // namespace
}  // namespace moescope
