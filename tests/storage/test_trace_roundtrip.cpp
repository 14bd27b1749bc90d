// Round trips through the trace store: every event kind goes engine -> TraceWriter -> file ->
// TraceFile::load and, on the writer thread, into the live TraceModel; the two must agree with
// each other and with what was sent. Also: routing coalescing, several runs and reopened files,
// and drops when the queue is full.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <string>

#include "engine/trace/half.h"
#include "storage/schema.h"
#include "storage/trace_file.h"
#include "storage/trace_model.h"
#include "storage/trace_writer.h"
#include "tests/common/expect_error.h"
#include "tests/common/test_paths.h"
#include "tests/storage/trace_test_util.h"

namespace moescope {
namespace {

using storage::RunData;
using storage::TraceFile;
using storage::TraceModel;
using storage::TraceWriter;
using storage::WriterOptions;
using test::Script;

RunData model_run(const TraceModel& model, int64_t id) {
  RunData out;
  EXPECT_TRUE(model.read(id, [&](const RunData& r) { out = r; })) << "no run " << id;
  return out;
}

int64_t count_rows(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr);
  const int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
  sqlite3_finalize(s);
  sqlite3_close(db);
  return n;
}

TEST(TraceRoundTrip, EveryEventKindThroughFileAndModel) {
  const std::string path = test::make_temp_dir("trace-rt") + "/run.db";
  TraceModel model;
  Script script;
  int64_t id = 0;
  {
    WriterOptions o;
    o.model = &model;
    auto w = TraceWriter::open(path, o);
    id = w->begin_run(test::sample_info());
    EXPECT_EQ(id, 1);
    script.play(*w, id);
    w->end_run(id, trace::RunStatus::Complete, 9'000'000'000, "");
    w->flush();
    EXPECT_EQ(w->error(), "");
    const auto stats = w->stats();
    EXPECT_EQ(stats.dropped.total(), 0);
    EXPECT_EQ(stats.routing_records, script.routing_records());
  }
  const RunData live = model_run(model, id);
  auto file = TraceFile::open(path);
  EXPECT_EQ(file->schema_version(), storage::kSchemaVersion);
  const RunData loaded = file->load(id);
  test::expect_same_run(live, loaded);

  // And both hold what was sent.
  const trace::RunInfo info = test::sample_info();
  EXPECT_EQ(loaded.info.prompt, info.prompt);
  EXPECT_EQ(loaded.status, trace::RunStatus::Complete);
  EXPECT_EQ(loaded.end_ns, 9'000'000'000);
  ASSERT_EQ(loaded.n_positions(), script.prompt + script.decode);
  EXPECT_EQ(loaded.prompt_tokens(), script.prompt);
  EXPECT_EQ(loaded.generated_tokens(), script.decode);
  for (int64_t p = 0; p < loaded.n_positions(); ++p) {
    const trace::TokenEvent want = test::make_token(
        p, p < script.prompt ? 0 : p - script.prompt + 1,
        p < script.prompt ? trace::TokenPhase::Prompt : trace::TokenPhase::Generated);
    const auto& got = loaded.tokens[size_t(p)];
    EXPECT_EQ(got.id, want.id);
    EXPECT_EQ(got.text, want.text);
    EXPECT_EQ(got.step, want.step);
    EXPECT_TRUE(test::same_float(got.logprob, want.logprob));
    ASSERT_EQ(got.n_top, want.n_top);
    for (int j = 0; j < want.n_top; ++j) EXPECT_EQ(got.top_ids[j], want.top_ids[j]);
  }
  EXPECT_TRUE(std::isnan(loaded.tokens[0].logprob));
  ASSERT_EQ(loaded.ops.size(), size_t(script.layers * script.ops_per_layer * (script.decode + 1)));
  EXPECT_EQ(loaded.strings[size_t(loaded.ops[0].name)], "attn.q_proj");
  EXPECT_EQ(loaded.strings[size_t(loaded.ops[0].kind)], "matmul");
  EXPECT_EQ(loaded.strings[size_t(loaded.ops[3].name)], "moe.expert.up");
  ASSERT_EQ(loaded.attention.size(), size_t(script.heads * (script.decode + 1)));
  // The prefill map, converted to f16 from rows with a stride wider than the keys.
  const auto& a = loaded.attention[0];
  EXPECT_EQ(a.n_queries, script.prompt);
  EXPECT_EQ(a.n_keys, script.prompt);
  for (int32_t q = 0; q < a.n_queries; ++q)
    for (int64_t k = 0; k < a.n_keys; ++k)
      ASSERT_EQ(a.probs_f16[size_t(q * a.n_keys + k)], trace::f32_to_f16(test::hash01(0, q, k)));
  ASSERT_EQ(loaded.memory.size(), size_t(script.decode + 1));
  EXPECT_EQ(loaded.memory[3].step, 3);
  EXPECT_EQ(loaded.memory[3].rss_bytes, (int64_t(40) << 20) + 3 * 4096);
  EXPECT_EQ(loaded.memory[3].attention_bytes, 3000);
  EXPECT_EQ(file->runs().size(), 1u);
  EXPECT_EQ(file->runs()[0].status, trace::RunStatus::Complete);
  EXPECT_EQ(file->runs()[0].generated_tokens, script.decode);
}

TEST(TraceRoundTrip, CoalescedRoutingRowsDecodeToEachPosition) {
  const std::string path = test::make_temp_dir("trace-coalesce") + "/run.db";
  TraceModel model;
  int64_t id = 0;
  const int32_t e = 8, k = 2;
  {
    WriterOptions o;
    o.model = &model;
    o.commit_interval_ms = 60'000;  // only flushes commit: every block below is coalesced
    auto w = TraceWriter::open(path, o);
    id = w->begin_run(test::sample_info(2, e, k));
    for (int32_t l = 0; l < 2; ++l) test::emit_routing(*w, id, 0, l, 0, 37, e, k);  // prefill
    for (int64_t s = 1; s <= 200; ++s)
      for (int32_t l = 0; l < 2; ++l) test::emit_routing(*w, id, s, l, 36 + s, 1, e, k);
    // Steps without a pattern: 5, 5, 9 on positions 237 .. 239.
    test::emit_routing(*w, id, 5, 0, 237, 2, e, k);
    test::emit_routing(*w, id, 9, 0, 239, 1, e, k);
    w->flush();
    EXPECT_EQ(w->stats().routing_records, 2 * (37 + 200) + 3);
  }
  // Far fewer rows than blocks: per layer one for the prefill and one for the decode steps,
  // then a new row wherever the step pattern breaks (5, 5 and then 9).
  EXPECT_EQ(count_rows(path, "SELECT count(*) FROM routing"), 2 + 2 + 2);
  EXPECT_EQ(count_rows(path, "SELECT count(*) FROM routing WHERE step_stride = 1"), 2);

  const RunData run = TraceFile::open(path)->load(id);
  test::expect_same_run(model_run(model, id), run);
  ASSERT_EQ(run.routing.size(), 2u);
  ASSERT_EQ(run.routing[0].present.size(), 240u);
  ASSERT_EQ(run.routing[1].present.size(), 237u);
  for (int32_t l = 0; l < 2; ++l) {
    const auto& r = run.routing[size_t(l)];
    for (size_t p = 0; p < r.present.size(); ++p) {
      ASSERT_EQ(r.present[p], 1);
      const int64_t want_step = p < 37 ? 0 : p < 237 ? int64_t(p) - 36 : p < 239 ? 5 : 9;
      ASSERT_EQ(r.step[p], want_step) << "layer " << l << " position " << p;
      // Regenerate the block's values for this one position and compare exactly.
      float sum = 0;
      std::vector<float> probs(e);
      for (int32_t x = 0; x < e; ++x) sum += probs[size_t(x)] = 0.01f + test::hash01(l, p, x);
      for (int32_t x = 0; x < e; ++x)
        ASSERT_EQ(r.probs[p * e + size_t(x)], probs[size_t(x)] / sum) << l << " " << p;
      for (int32_t j = 0; j < k; ++j) {
        ASSERT_EQ(r.ids[p * k + size_t(j)], int32_t((int64_t(p) + l + j * 3) % e));
        ASSERT_EQ(r.gates[p * k + size_t(j)], test::hash01(l, int64_t(p), 100 + j));
      }
    }
  }
}

TEST(TraceRoundTrip, SeveralRunsAndAReopenedFile) {
  const std::string path = test::make_temp_dir("trace-runs") + "/runs.db";
  Script small;
  small.prompt = 3;
  small.decode = 2;
  {
    auto w = TraceWriter::open(path, {});
    const int64_t a = w->begin_run(test::sample_info());
    small.play(*w, a);
    w->end_run(a, trace::RunStatus::Complete, 6'000'000'000, "");
    const int64_t b = w->begin_run(test::sample_info());
    EXPECT_EQ(b, a + 1);
    small.play(*w, b);
    w->end_run(b, trace::RunStatus::Aborted, 6'000'000'000, "stopped by the user");
  }
  TraceModel model;
  {
    WriterOptions o;
    o.model = &model;
    auto w = TraceWriter::open(path, o);  // appends; ids continue
    const int64_t c = w->begin_run(test::sample_info());
    EXPECT_EQ(c, 3);
    small.play(*w, c);
    w->end_run(c, trace::RunStatus::Complete, 7'000'000'000, "");
  }
  auto file = TraceFile::open(path);
  const auto runs = file->runs();
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[1].status, trace::RunStatus::Aborted);
  EXPECT_EQ(file->load(2).error, "stopped by the user");
  EXPECT_NEAR(runs[2].duration_s, 2.0, 1e-9);
  for (int64_t id = 1; id <= 3; ++id) {
    const RunData r = file->load(id);
    EXPECT_EQ(r.n_positions(), 5);
    EXPECT_EQ(r.ops.size(), size_t(small.layers * small.ops_per_layer * 3));
  }
  test::expect_same_run(model_run(model, 3), file->load(3));
  test::expect_error([&] { file->load(7); }, {path, "no run 7", "1, 2, 3"});
}

TEST(TraceRoundTrip, FullQueueDropsAreCountedInTheFileAndTheModel) {
  const std::string path = test::make_temp_dir("trace-drops") + "/drops.db";
  TraceModel model;
  int64_t id = 0;
  int64_t sent_routing = 0, sent_ops = 0;
  storage::WriterStats stats;
  {
    WriterOptions o;
    o.model = &model;
    o.queue_bytes = 4096;  // a few prefill blocks at most
    auto w = TraceWriter::open(path, o);
    id = w->begin_run(test::sample_info(4, 8, 2));
    for (int rep = 0; rep < 50; ++rep) {
      for (int32_t l = 0; l < 4; ++l) {
        test::emit_routing(*w, id, 0, l, rep * 16, 16, 8, 2);  // 16 x 48 bytes each
        ++sent_routing;
        trace::OpEvent op;
        op.site = &test::kSiteQProj;
        op.layer = l;
        w->op(id, op);
        ++sent_ops;
      }
      trace::MemorySample m;
      m.step = rep;
      w->memory(id, m);
    }
    w->token(id, test::make_token(0, 0, trace::TokenPhase::Prompt));
    w->end_run(id, trace::RunStatus::Complete, 1, "");
    w->flush();
    stats = w->stats();
    EXPECT_EQ(w->error(), "");
  }
  EXPECT_GT(stats.dropped.routing, 0) << "the queue never filled; the test proves nothing";
  const RunData file_run = TraceFile::open(path)->load(id);
  const RunData live = model_run(model, id);
  EXPECT_EQ(file_run.drops.routing, stats.dropped.routing);
  EXPECT_EQ(file_run.drops.ops, stats.dropped.ops);
  EXPECT_EQ(live.drops.routing, stats.dropped.routing);
  // Never silent: what was written plus what was dropped is what was sent.
  int64_t positions = 0;
  for (const auto& l : file_run.routing)
    for (uint8_t p : l.present) positions += p;
  EXPECT_EQ(positions / 16 + file_run.drops.routing, sent_routing);
  EXPECT_EQ(int64_t(file_run.ops.size()) + file_run.drops.ops, sent_ops);
  test::expect_same_run(live, file_run);
  EXPECT_EQ(int64_t(file_run.memory.size()) + file_run.drops.memory, 50);
  // The token and the status (control record) always get through.
  EXPECT_EQ(file_run.n_positions(), 1);
  EXPECT_EQ(file_run.status, trace::RunStatus::Complete);
  EXPECT_EQ(count_rows(path, "SELECT sum(count) FROM drops WHERE run_id = 1"),
            stats.dropped.total());
  EXPECT_EQ(count_rows(path, "SELECT dropped_routing FROM runs WHERE id = 1"),
            stats.dropped.routing);
}

TEST(TraceModelTest, StandaloneSinkAssignsIdsAndSummarizes) {
  TraceModel model;
  const uint64_t v0 = model.version();
  const int64_t a = model.begin_run(test::sample_info());
  const int64_t b = model.begin_run(test::sample_info());
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, 2);
  Script s;
  s.prompt = 4;
  s.decode = 3;
  s.play(model, b);
  model.end_run(b, trace::RunStatus::Complete, test::sample_info().start_ns + 1'500'000'000, "");
  EXPECT_GT(model.version(), v0);
  const auto runs = model.runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].prompt_tokens, 4);
  EXPECT_EQ(runs[1].generated_tokens, 3);
  EXPECT_NEAR(runs[1].duration_s, 1.5, 1e-9);
  EXPECT_EQ(runs[0].status, trace::RunStatus::Running);
  EXPECT_FALSE(model.read(9, [](const RunData&) {}));
  // A skipped position (a dropped token) reads as a placeholder, keeping tokens dense.
  model.token(a, test::make_token(2, 0, trace::TokenPhase::Prompt));
  model.read(a, [](const RunData& r) {
    ASSERT_EQ(r.tokens.size(), 3u);
    EXPECT_EQ(r.tokens[0].id, -1);
    EXPECT_EQ(r.tokens[1].position, 1);
    EXPECT_EQ(r.tokens[2].id, 100 + 14);
  });
  // put() replaces a run without moving its version backwards.
  RunData copy = model_run(model, b);
  const uint64_t before = copy.version;
  copy.version = 0;
  model.put(copy);
  model.read(b, [&](const RunData& r) { EXPECT_GT(r.version, before); });
}

}  // namespace
}  // namespace moescope
