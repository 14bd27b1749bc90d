// Faults while tracing: the disk fills up, the file becomes read-only, another process holds
// the file, the file is deleted underneath. In each case generation goes on (sink calls and
// flush return promptly), the error is reported once in one line naming the file, and every
// step committed before the fault is still readable with TraceFile.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>

#include "storage/trace_file.h"
#include "storage/trace_model.h"
#include "storage/trace_writer.h"
#include "tests/common/expect_error.h"
#include "tests/common/test_paths.h"
#include "tests/storage/fault_vfs.h"
#include "tests/storage/trace_test_util.h"

namespace moescope {
namespace {

namespace fs = std::filesystem;
using storage::RunData;
using storage::TraceFile;
using storage::TraceModel;
using storage::TraceWriter;
using storage::WriterOptions;
using Clock = std::chrono::steady_clock;

// Longest a step's sink calls plus a flush may take once the file has failed. Generous for
// sanitizer builds, well under SQLite's 5 s busy timeout, which is what a blocked writer shows.
constexpr double kMaxStepSeconds = 2.0;

struct Outcome {
  int64_t committed = 0;  // positions flushed before the error appeared
  int64_t live = 0;       // positions the live model holds at the end
  std::string error;
  storage::WriterStats stats;
};

// Records a run step by step (flushing after each), calls fault() after step `fault_after`,
// goes on until the writer reports an error (or `max_steps`), then plays 5 more steps and ends
// the run. Checks that nothing blocks and that the error is reported once, in one line.
Outcome record_through_fault(const std::string& path, WriterOptions options, int64_t fault_after,
                             const std::function<void()>& fault, int64_t max_steps = 200) {
  TraceModel model;
  options.model = &model;
  auto w = TraceWriter::open(path, options);
  const int64_t id = w->begin_run(test::sample_info());
  test::Script s;
  Outcome out;
  int64_t step = 0;
  for (; step <= max_steps && w->error().empty(); ++step) {
    if (step == fault_after + 1) fault();
    s.play_steps(*w, id, step, step);
    w->flush();
    if (w->error().empty()) out.committed = s.prompt + step;
  }
  out.error = w->error();
  for (int64_t more = 0; more < 5; ++more, ++step) {
    const auto t0 = Clock::now();
    s.play_steps(*w, id, step, step);
    w->flush();
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), kMaxStepSeconds)
        << "a step blocked after the fault";
  }
  w->end_run(id, trace::RunStatus::Complete, 2, "");
  w->flush();
  EXPECT_EQ(w->error(), out.error) << "the error changed after it was reported";
  EXPECT_EQ(out.error.find('\n'), std::string::npos) << out.error;
  out.stats = w->stats();
  model.read(id, [&](const RunData& r) { out.live = r.n_positions(); });
  EXPECT_EQ(out.live, s.prompt + step - 1) << "the live view must get every event";
  w.reset();
  return out;
}

// The run as a reader sees it after the writer has gone: every committed position, and the
// tokens exactly as they were emitted.
RunData expect_committed_steps_readable(const std::string& path, const Outcome& out) {
  auto file = TraceFile::open(path);
  const auto runs = file->runs();
  EXPECT_EQ(runs.size(), 1u);
  RunData run = file->load(1);
  EXPECT_GE(run.n_positions(), out.committed);
  EXPECT_LT(run.n_positions(), out.live);
  for (int64_t p = 0; p < run.n_positions(); ++p)
    EXPECT_EQ(run.tokens[size_t(p)].id, test::make_token(p, 0, {}).id) << "position " << p;
  return run;
}

void expect_error_names(const std::string& error, const std::vector<std::string>& parts) {
  ASSERT_FALSE(error.empty()) << "the fault was never reported";
  std::printf("  what the user sees: %s\n", error.c_str());  // the test log shows each message
  for (const std::string& p : parts)
    EXPECT_NE(error.find(p), std::string::npos) << "'" << p << "' not in: " << error;
}

// A run cut short by a fault is marked aborted in the file, with the error, as soon as the
// writer can still say so; otherwise it reads as aborted once this process ends.
void expect_marked_failed(const RunData& run, const std::string& error) {
  EXPECT_EQ(run.status, trace::RunStatus::Aborted);
  EXPECT_NE(run.error.find("trace stopped"), std::string::npos) << run.error;
}

TEST(TraceFaults, DiskFullBySizeCap) {
  const std::string dir = test::make_temp_dir("trace-fault-cap");
  const std::string path = dir + "/cap.db";
  WriterOptions o;
  o.max_file_bytes = 384 << 10;  // SQLite's max_page_count: the file cannot grow past it
  const Outcome out = record_through_fault(path, o, 1 << 30, [] {});
  expect_error_names(out.error, {path, "full", "committed before is intact"});
  EXPECT_GT(out.stats.dropped.total(), 0) << "what no longer reaches the file is counted";
  const RunData run = expect_committed_steps_readable(path, out);
  expect_marked_failed(run, out.error);
}

TEST(TraceFaults, DiskFullMidRun) {
  const std::string dir = test::make_temp_dir("trace-fault-enospc");
  const std::string path = dir + "/full.db";
  test::FaultVfs vfs;
  const Outcome out =
      record_through_fault(path, {}, 3, [&] { vfs.fail_writes(SQLITE_FULL, ENOSPC); });
  EXPECT_GT(vfs.refused_writes(), 0);
  vfs.fail_writes(0, 0);
  expect_error_names(out.error, {path, "full"});
  EXPECT_GE(out.committed, 12 + 3);
  expect_committed_steps_readable(path, out);
}

TEST(TraceFaults, FileBecomesReadOnlyMidRun) {
  // A file system remounted read-only under a running writer: write() fails with EROFS, which
  // SQLite reports as an I/O error. (chmod cannot do this: the writer's descriptor is open.)
  const std::string dir = test::make_temp_dir("trace-fault-erofs");
  const std::string path = dir + "/ro.db";
  test::FaultVfs vfs;
  const Outcome out =
      record_through_fault(path, {}, 2, [&] { vfs.fail_writes(SQLITE_IOERR_WRITE, EROFS); });
  vfs.fail_writes(0, 0);
  expect_error_names(out.error, {path, "I/O error", "Read-only file system"});
  EXPECT_GE(out.committed, 12 + 2);
  expect_committed_steps_readable(path, out);
}

// Runs `child` in a forked process and returns what it wrote to its pipe. The child must not use
// gtest; it reports through the string it returns.
std::string in_child(const std::function<std::string()>& child) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    std::string msg;
    try {
      msg = child();
    } catch (const std::exception& e) {
      msg = std::string("error: ") + e.what();
    }
    (void)!write(fds[1], msg.data(), msg.size());
    _exit(0);
  }
  close(fds[1]);
  std::string got;
  char buf[512];
  for (ssize_t n; (n = read(fds[0], buf, sizeof(buf))) > 0;) got.append(buf, size_t(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return got;
}

// Drops root in the child, where permissions do not apply to root.
bool become_nobody() {
  return getuid() != 0 || (setgid(65534) == 0 && setuid(65534) == 0);
}

TEST(TraceFaults, ReadOnlyFileIsRefusedAtOpenAndStillReadable) {
  const std::string dir = test::make_temp_dir("trace-fault-rofile");
  const std::string path = dir + "/ro.db";
  {
    auto w = TraceWriter::open(path, {});
    const int64_t id = w->begin_run(test::sample_info());
    test::Script{}.play(*w, id);
    w->end_run(id, trace::RunStatus::Complete, 1, "");
  }
  ASSERT_EQ(chmod(path.c_str(), 0444), 0);
  ASSERT_EQ(chmod(dir.c_str(), 0777), 0);  // the lock file may be created; the trace may not
  // As root the permission bits do not stop writes, so both sides run as nobody in a child.
  const std::string writer = in_child([&]() -> std::string {
    if (!become_nobody()) return "skip: cannot drop root";
    TraceWriter::open(path, {});
    return "opened";
  });
  if (writer.rfind("skip:", 0) == 0) GTEST_SKIP() << writer;
  EXPECT_EQ(writer.rfind("error: ", 0), 0u) << writer;
  EXPECT_NE(writer.find(path), std::string::npos) << writer;
  EXPECT_NE(writer.find("read-only"), std::string::npos) << writer;
  std::printf("  what the user sees: %s\n", writer.c_str());

  const std::string reader = in_child([&]() -> std::string {
    if (!become_nobody()) return "skip";
    return std::to_string(TraceFile::open(path)->load(1).n_positions());
  });
  EXPECT_EQ(reader, std::to_string(12 + 20)) << "a read-only trace can still be browsed";
  EXPECT_EQ(TraceFile::open(path)->load(1).status, trace::RunStatus::Complete);
}

TEST(TraceFaults, ReadOnlyDirectoryIsRefusedAtOpen) {
  const std::string dir = test::make_temp_dir("trace-fault-rodir");
  const std::string path = dir + "/new.db";
  ASSERT_EQ(chmod(dir.c_str(), 0555), 0);
  const std::string writer = in_child([&]() -> std::string {
    if (!become_nobody()) return "skip: cannot drop root";
    TraceWriter::open(path, {});
    return "opened";
  });
  chmod(dir.c_str(), 0755);
  if (writer.rfind("skip:", 0) == 0) GTEST_SKIP() << writer;
  EXPECT_EQ(writer.rfind("error: ", 0), 0u) << writer;
  EXPECT_NE(writer.find(path), std::string::npos) << writer;
  EXPECT_NE(writer.find("Permission denied"), std::string::npos) << writer;
  std::printf("  what the user sees: %s\n", writer.c_str());
  EXPECT_FALSE(fs::exists(path));
}

TEST(TraceFaults, LockedByAnotherProcess) {
  const std::string dir = test::make_temp_dir("trace-fault-lock");
  const std::string path = dir + "/busy.db";
  // The child opens a writer, records a run, says so, and holds the file until killed.
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  if (child == 0) {
    close(ready[0]);
    try {
      auto w = TraceWriter::open(path, {});
      const int64_t id = w->begin_run(test::sample_info());
      test::Script{}.play(*w, id);
      w->flush();
      (void)!write(ready[1], "1", 1);
      for (;;) pause();
    } catch (...) {
      _exit(1);
    }
  }
  close(ready[1]);
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1) << "the child could not record";
  close(ready[0]);

  const auto t0 = Clock::now();
  test::expect_error([&] { TraceWriter::open(path, {}); },
                     {path, "is being written by process " + std::to_string(child),
                      "writer lock " + path + ".lock"});
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), kMaxStepSeconds)
      << "a locked file must be refused at once, not waited for";
  // Readers are never refused, and see the run as running while its writer lives.
  EXPECT_EQ(TraceFile::open(path)->load(1).status, trace::RunStatus::Running);
  EXPECT_EQ(TraceFile::open(path)->load(1).n_positions(), 12 + 20);

  // Once the holder dies (even by SIGKILL) the file is free and its run reads as aborted.
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  auto w = TraceWriter::open(path, {});
  EXPECT_EQ(w->error(), "");
  w.reset();
  const RunData run = TraceFile::open(path)->load(1);
  EXPECT_EQ(run.status, trace::RunStatus::Aborted);
  EXPECT_EQ(run.n_positions(), 12 + 20);
}

TEST(TraceFaults, DeletedUnderneath) {
  const std::string dir = test::make_temp_dir("trace-fault-unlink");
  const std::string path = dir + "/gone.db";
  const Outcome out =
      record_through_fault(path, {}, 2, [&] { ASSERT_EQ(unlink(path.c_str()), 0); });
  expect_error_names(out.error, {path, "deleted"});
  EXPECT_GE(out.committed, 12 + 2);
  EXPECT_GT(out.stats.dropped.total(), 0);
  // Nothing is left behind under the old name, and the path is free for a new trace.
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(path + "-wal"));
  EXPECT_FALSE(fs::exists(path + ".lock"));
  auto w = TraceWriter::open(path, {});
  EXPECT_EQ(w->begin_run(test::sample_info()), 1);
}

}  // namespace
}  // namespace moescope
