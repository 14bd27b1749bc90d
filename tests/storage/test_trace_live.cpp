// Reading a run while it is written: a reader thread follows a writer thread through
// TraceFile::refresh and sees a prefix that only grows; and crash safety: a writer process killed
// with SIGKILL mid-generation leaves a file that opens, holds every step committed before the
// kill, and shows the run as aborted.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "storage/trace_file.h"
#include "storage/trace_model.h"
#include "storage/trace_writer.h"
#include "tests/common/test_paths.h"
#include "tests/storage/trace_test_util.h"

namespace moescope {
namespace {

using storage::RunData;
using storage::TraceFile;
using storage::TraceModel;
using storage::TraceWriter;
using storage::WriterOptions;

TEST(TraceLive, ReaderSeesAGrowingPrefixWhileAWriterThreadWrites) {
  const std::string path = test::make_temp_dir("trace-live") + "/live.db";
  TraceModel model;
  test::Script script;
  script.prompt = 16;
  script.decode = 60;
  std::atomic<int64_t> run_id{0};
  std::atomic<int> reads{0};  // refreshes the reader has finished

  std::thread writer([&] {
    WriterOptions o;
    o.model = &model;
    o.commit_interval_ms = 2;
    auto w = TraceWriter::open(path, o);
    const int64_t id = w->begin_run(test::sample_info());
    run_id = id;
    for (int64_t step = 0; step <= script.decode; ++step) {
      script.play_steps(*w, id, step, step);
      if (step % 7 == 0) {
        w->flush();
        // Let the reader read what was just committed: it may be far slower than this writer
        // (a sanitizer, a loaded machine), and a reader that only saw the end proves nothing.
        // The read that finishes second from now began after the flush. Bounded, so that a
        // stuck reader fails the test instead of hanging it.
        const int seen = reads;
        for (int i = 0; i < 2000 && reads < seen + 2; ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
    w->end_run(id, trace::RunStatus::Complete, 8'000'000'000, "");
  });

  while (run_id == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto file = TraceFile::open(path);
  RunData run = file->load(run_id);
  size_t tokens = 0, ops = 0, attention = 0, positions0 = 0;
  int refreshes = 0, changes = 0;
  for (;;) {
    const bool running = run.status == trace::RunStatus::Running;
    changes += file->refresh(run);
    ++refreshes;
    ++reads;
    // Only ever more, and what was there stays as it was.
    ASSERT_GE(run.tokens.size(), tokens);
    ASSERT_GE(run.ops.size(), ops);
    ASSERT_GE(run.attention.size(), attention);
    ASSERT_GE(run.routing[0].present.size(), positions0);
    tokens = run.tokens.size();
    ops = run.ops.size();
    attention = run.attention.size();
    positions0 = run.routing[0].present.size();
    for (size_t p = 0; p < tokens; ++p)
      ASSERT_EQ(run.tokens[p].id, test::make_token(int64_t(p), 0, {}).id) << "position " << p;
    // Whole steps: a commit never splits an event, so the routing seen is a dense prefix.
    for (uint8_t present : run.routing[0].present) ASSERT_EQ(present, 1);
    if (!running && run.status != trace::RunStatus::Running) break;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  writer.join();
  EXPECT_GT(changes, 2) << "the reader never saw the run grow (" << refreshes << " refreshes)";
  EXPECT_EQ(run.status, trace::RunStatus::Complete);
  file->refresh(run);
  RunData live;
  ASSERT_TRUE(model.read(run_id, [&](const RunData& r) { live = r; }));
  test::expect_same_run(live, run);
  test::expect_same_run(file->load(run_id), run);
  EXPECT_FALSE(file->refresh(run));
}

TEST(TraceLive, WriterKilledMidGenerationLeavesAnAbortedReadableRun) {
  const std::string path = test::make_temp_dir("trace-kill") + "/killed.db";
  test::Script script;
  script.prompt = 10;
  script.decode = 40;
  const int64_t committed_steps = 5;

  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The child is a writer process that dies without a word in the middle of a generation.
    try {
      auto w = TraceWriter::open(path, {});
      const int64_t id = w->begin_run(test::sample_info());
      script.play_steps(*w, id, 0, committed_steps);
      w->flush();
      script.play_steps(*w, id, committed_steps + 1, script.decode);  // maybe committed
      raise(SIGKILL);
    } catch (...) {
    }
    _exit(3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;

  {
    auto file = TraceFile::open(path);
    const auto runs = file->runs();
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].status, trace::RunStatus::Aborted);
    const RunData run = file->load(1);
    EXPECT_EQ(run.status, trace::RunStatus::Aborted);
    EXPECT_NE(run.error.find("process " + std::to_string(child) + ") ended without finishing"),
              std::string::npos)
        << run.error;
    // Every step flushed before the kill is there, whole.
    ASSERT_GE(run.n_positions(), script.prompt + committed_steps);
    for (int64_t p = 0; p < run.n_positions(); ++p)
      ASSERT_EQ(run.tokens[size_t(p)].id, test::make_token(p, 0, {}).id);
    for (const auto& layer : run.routing)
      ASSERT_GE(int64_t(layer.present.size()), script.prompt + committed_steps);
    EXPECT_GE(run.ops.size(), size_t(script.layers * script.ops_per_layer * (committed_steps + 1)));
  }

  // The next writer takes the file over (the dead writer's lock went with it) and marks the run
  // aborted for good.
  {
    auto w = TraceWriter::open(path, {});
    EXPECT_EQ(w->begin_run(test::sample_info()), 2);
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "SELECT status, error FROM runs WHERE id = 1", -1, &s, nullptr);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)), "aborted");
  EXPECT_NE(std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 1)))
                .find("ended without finishing"),
            std::string::npos);
  sqlite3_finalize(s);
  sqlite3_close(db);
}

}  // namespace
}  // namespace moescope
