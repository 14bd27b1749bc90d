// `moescope probe induction` and `moescope bench --ceilings` as a user runs them. The probe runs
// end to end on the tiny model; the scores it prints must equal the induction metric recomputed
// here from the attention maps it recorded into the trace file (and the direct repeated-tokens
// formula). The ceilings are measured, saved where asked, and read back.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "inspectors/analysis/attention_metrics.h"
#include "inspectors/analysis/ceilings.h"
#include "inspectors/analysis/induction_probe.h"
#include "storage/trace_file.h"
#include "tests/app/cli_runner.h"
#include "tests/common/test_paths.h"

namespace moescope {
namespace {

using test::CliRun;
using test::moescope;

std::string tiny_model() {
  return test::assets_dir() + "/tiny-grok1-random";
}

TEST(Probe, InductionScoresEqualTheMetricOfTheRecordedMaps) {
  const std::string trace = test::make_temp_dir("probe") + "/probe.db";
  const int64_t N = 24;
  CliRun r = moescope({"probe", "induction", "--model", tiny_model(), "--length", std::to_string(N),
                       "--seed", "5", "--trace", trace, "--top", "0", "--json", "--threads", "2"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const auto ids = j["tokens"].get<std::vector<int32_t>>();
  EXPECT_EQ(ids, inspectors::repeated_random_tokens(N, 3, 4096, 5));  // tiny: vocab 4096
  const auto& listed = j["heads"];
  ASSERT_EQ(listed.size(), 4u * 8u);  // every layer and head of the tiny model

  auto file = storage::TraceFile::open(trace);
  const storage::RunData run = file->load(j["run"].get<int64_t>());
  ASSERT_EQ(run.n_positions(), 2 * N);
  for (int64_t p = 0; p < 2 * N; ++p) EXPECT_EQ(run.tokens[size_t(p)].id, ids[size_t(p)]);
  const auto heads = inspectors::head_metrics(run);
  ASSERT_EQ(heads.size(), listed.size());
  double previous = 2;
  for (const auto& h : listed) {
    const int32_t layer = h["layer"], head = h["head"];
    const auto& m = heads[size_t(layer * 8 + head)];
    ASSERT_EQ(m.layer, layer);
    ASSERT_EQ(m.head, head);
    EXPECT_EQ(m.rows, 2 * N);  // the whole map was captured
    EXPECT_EQ(h["rows"], N);
    EXPECT_EQ(h["induction"].get<double>(), m.induction) << layer << "." << head;
    EXPECT_EQ(h["induction"].get<double>(),
              inspectors::repeated_tokens_induction(run, layer, head, N));
    EXPECT_EQ(h["previous"].get<double>(), m.previous);
    EXPECT_LE(h["induction"].get<double>(), previous);  // ranked, largest first
    previous = h["induction"].get<double>();
  }
}

TEST(Probe, TextTableAndNoTraceFile) {
  CliRun r = moescope({"probe", "induction", "--model", tiny_model(), "--length", "16", "--top",
                       "3", "--threads", "2"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("score = mean over second-half positions t of A[t, t-15]"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("rank layer head kv  induction"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n   3 "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\n   4 "), std::string::npos) << r.out;
  CliRun j = moescope({"probe", "induction", "--model", tiny_model(), "--length", "16", "--top",
                       "3", "--threads", "2", "--json"});
  ASSERT_EQ(j.rc, 0) << j.err;
  const auto doc = nlohmann::json::parse(j.out);
  char first[128];
  std::snprintf(first, sizeof first, "   1 %5d %4d", doc["heads"][0]["layer"].get<int>(),
                doc["heads"][0]["head"].get<int>());
  EXPECT_NE(r.out.find(first), std::string::npos) << first << "\n" << r.out;  // same top head
}

TEST(Probe, BadInput) {
  CliRun none = moescope({"probe", "--model", tiny_model()});
  EXPECT_EQ(none.rc, 2);
  EXPECT_NE(none.err.find("moescope probe induction"), std::string::npos) << none.err;
  CliRun neg = moescope({"probe", "induction", "--length", "0"});
  EXPECT_EQ(neg.rc, 2);
  CliRun longer = moescope({"probe", "induction", "--model", tiny_model(), "--length", "600"});
  EXPECT_EQ(longer.rc, 1);
  EXPECT_EQ(longer.err.rfind("moescope: error: ", 0), 0u) << longer.err;
  EXPECT_NE(longer.err.find("context of 1024"), std::string::npos) << longer.err;
}

TEST(BenchCeilings, MeasuresAndSaves) {
  const std::string path = test::make_temp_dir("ceilings") + "/sub/ceilings.json";
  CliRun r = moescope({"bench", "--ceilings", "--threads", "2", "--array-mb", "32",
                       "--ceilings-file", path, "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto printed = nlohmann::json::parse(r.out);
  const auto saved = inspectors::load_ceilings(path);
  ASSERT_TRUE(saved.has_value());
  EXPECT_GT(saved->read_gbps_one_thread, 0);
  EXPECT_GT(saved->read_gbps, 0);
  EXPECT_GT(saved->gemm_gflops, 0);
  EXPECT_EQ(saved->threads, 2);
  EXPECT_EQ(saved->gemm_t, 256);
  EXPECT_EQ(saved->gemm_k, 1024);
  EXPECT_EQ(printed["read_gbps"].get<double>(), saved->read_gbps);
  EXPECT_EQ(printed["gemm_gflops"].get<double>(), saved->gemm_gflops);
  EXPECT_EQ(printed["file"], path);
  CliRun bad = moescope({"bench", "--ceilings", "--array-mb", "1"});
  EXPECT_EQ(bad.rc, 2);
}

}  // namespace
}  // namespace moescope
