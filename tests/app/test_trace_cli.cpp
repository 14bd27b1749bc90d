// Recording from the command line: `run` writes a trace that `runs` lists, `report` analyses and
// `export` turns into Perfetto JSON, CSV and JSON; and a `run` killed with SIGKILL mid-generation
// leaves a file that opens, holds every step committed before the kill, and shows the run as
// aborted.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "storage/trace_file.h"
#include "tests/app/cli_runner.h"

extern char** environ;

namespace moescope {
namespace {

using test::CliRun;
using test::moescope;
using test::slurp;

std::string tiny_model() {
  return test::assets_dir() + "/tiny-grok1-random";
}

TEST(TraceCli, RunRunsAndExport) {
  const std::string dir = test::make_temp_dir("trace-cli");
  const std::string db = dir + "/t.db";
  CliRun r =
      moescope({"run", "--model", tiny_model(), "--trace", db, "--prompt", "In the beginning",
                "--max-tokens", "16", "--attention", "--attention-layers", "0", "--threads", "2"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.rfind("In the beginning", 0), 0u);
  EXPECT_NE(r.err.find("run 1 recorded"), std::string::npos) << r.err;
  // A second run appends to the same file.
  ASSERT_EQ(moescope({"run", "--trace", db, "--prompt", "And God said", "--max-tokens", "4",
                      "--no-ops", "--quiet"})
                .rc,
            0);

  CliRun runs = moescope({"runs", db});
  ASSERT_EQ(runs.rc, 0) << runs.err;
  EXPECT_NE(runs.out.find("In the beginning"), std::string::npos) << runs.out;
  EXPECT_NE(runs.out.find("And God said"), std::string::npos) << runs.out;
  EXPECT_EQ(std::count(runs.out.begin(), runs.out.end(), '\n'), 3) << runs.out;  // header + 2

  ASSERT_EQ(
      moescope({"export", db, "--run", "1", "--format", "perfetto", "--out", dir + "/p.json"}).rc,
      0);
  auto perfetto = nlohmann::json::parse(slurp(dir + "/p.json"));
  ASSERT_TRUE(perfetto.contains("traceEvents"));
  int complete = 0;
  for (const auto& e : perfetto["traceEvents"]) complete += e["ph"] == "X";
  EXPECT_GT(complete, 100);
  ASSERT_EQ(moescope({"export", db, "--run", "1", "--format", "csv", "--out", dir + "/o.csv"}).rc,
            0);
  EXPECT_EQ(
      slurp(dir + "/o.csv")
          .rfind("name,src_file,src_line,total_ns,total_perc,counts,mean_ns,min_ns,max_ns,std_ns\n",
                 0),
      0u);
  ASSERT_EQ(moescope({"export", db, "--format", "json", "--out", dir + "/r.json"}).rc, 0);
  auto run2 = nlohmann::json::parse(slurp(dir + "/r.json"));
  EXPECT_FALSE(run2.empty());

  // report: text for people, JSON whose routing agrees with the file (every position routed
  // to k experts per layer; z-loss from the recorded router logits).
  CliRun text = moescope({"report", db, "--run", "1", "--head-metric", "previous"});
  ASSERT_EQ(text.rc, 0) << text.err;
  EXPECT_NE(text.out.find("Routing, whole run"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("previous"), std::string::npos) << text.out;
  CliRun js = moescope({"report", db, "--run", "1", "--json"});
  ASSERT_EQ(js.rc, 0) << js.err;
  const auto report = nlohmann::json::parse(js.out);
  const storage::RunData run1 = storage::TraceFile::open(db)->load(1);
  const auto& layers = report["routing"]["layers"];
  ASSERT_EQ(layers.size(), run1.routing.size());
  for (size_t l = 0; l < layers.size(); ++l) {
    int64_t routed = 0;
    for (const auto& n : layers[l]["load"]) routed += n.get<int64_t>();
    EXPECT_EQ(routed, run1.n_positions() * run1.info.top_k) << "layer " << l;
    const int64_t E = run1.info.n_experts;
    double z = 0;
    for (int64_t p = 0; p < run1.n_positions(); ++p) {
      const float* x = run1.routing[l].logits.data() + p * E;
      double m = x[0], sum = 0;
      for (int64_t e = 1; e < E; ++e) m = std::max(m, double(x[e]));
      for (int64_t e = 0; e < E; ++e) sum += std::exp(double(x[e]) - m);
      z += (m + std::log(sum)) * (m + std::log(sum));
    }
    ASSERT_TRUE(layers[l]["router_z_loss"].is_number()) << layers[l];
    EXPECT_NEAR(layers[l]["router_z_loss"].get<double>(), z / double(run1.n_positions()), 1e-6);
  }
  EXPECT_EQ(moescope({"report", db, "--head-metric", "loudest"}).rc, 2);
  EXPECT_EQ(moescope({"report", db, "--run", "7"}).rc, 1);

  // Bad input: a missing trace, and a file that is not a trace, name the file.
  CliRun missing = moescope({"runs", dir + "/nope.db"});
  EXPECT_EQ(missing.rc, 1);
  EXPECT_NE(missing.err.find("nope.db"), std::string::npos) << missing.err;
  std::ofstream(dir + "/junk.db") << "this is not a database at all, just text";
  CliRun junk = moescope({"export", dir + "/junk.db", "--out", dir + "/x.json"});
  EXPECT_EQ(junk.rc, 1);
  EXPECT_NE(junk.err.find("junk.db"), std::string::npos) << junk.err;
  EXPECT_FALSE(test::file_exists(dir + "/x.json"));
  EXPECT_EQ(moescope({"export", db, "--run", "9", "--out", dir + "/y.json"}).rc, 1);
}

// The tiny model with a longer context, so a generation runs long enough to be killed mid-way.
std::string long_context_model() {
  const std::string dir = test::make_temp_dir("long-model");
  for (const auto& e : std::filesystem::directory_iterator(tiny_model()))
    std::filesystem::copy_file(e.path(), dir + "/" + e.path().filename().string());
  auto config = nlohmann::json::parse(slurp(dir + "/config.json"));
  config["max_position_embeddings"] = 16384;
  std::ofstream(dir + "/config.json", std::ios::trunc) << config.dump(2);
  return dir;
}

TEST(TraceCli, SigkillMidGenerationLeavesAReadableAbortedRun) {
  const std::string model = long_context_model();
  const std::string db = test::make_temp_dir("kill") + "/k.db";
  const std::string bin = test::binary_dir() + "/moescope";
  std::vector<std::string> argv_s = {bin,
                                     "run",
                                     "--model",
                                     model,
                                     "--trace",
                                     db,
                                     "--prompt",
                                     "In the beginning",
                                     "--max-tokens",
                                     "16000",
                                     "--quiet",
                                     "--threads",
                                     "1"};
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  ASSERT_EQ(posix_spawn(&pid, bin.c_str(), &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);

  // Wait until some decode steps are committed, then kill without warning.
  int64_t seen = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (seen < 64 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    try {
      auto file = storage::TraceFile::open(db);
      auto runs = file->runs();
      if (!runs.empty()) seen = file->load(runs[0].id).generated_tokens();
    } catch (const std::exception&) {
      // The file may not exist or be half-created yet.
    }
  }
  ASSERT_GE(seen, 64) << "the child committed nothing within a minute";
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the child finished first";

  auto file = storage::TraceFile::open(db);
  auto runs = file->runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, trace::RunStatus::Aborted);
  storage::RunData run = file->load(runs[0].id);
  EXPECT_EQ(run.status, trace::RunStatus::Aborted);
  EXPECT_GE(run.generated_tokens(), seen);  // nothing committed before the kill was lost
  EXPECT_LT(run.generated_tokens(), 16000);
  // Every committed token before the last has its routing in every layer.
  for (const auto& layer : run.routing)
    for (int64_t p = 0; p + 1 < run.n_positions() && p < int64_t(layer.present.size()); ++p)
      EXPECT_TRUE(layer.present[size_t(p)]) << "position " << p;
  CliRun listed = moescope({"runs", db});
  EXPECT_NE(listed.out.find("aborted"), std::string::npos) << listed.out;
}

}  // namespace
}  // namespace moescope
