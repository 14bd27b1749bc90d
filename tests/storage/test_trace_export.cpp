// Exporters: the Perfetto/Chrome JSON is structurally valid (every complete event has name, ts,
// dur, pid and tid; every pid and tid used is named; ts is monotone per track), the CSV has
// Tracy's csvexport columns and right numbers, and the run JSON holds the whole run.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "storage/export/csv.h"
#include "storage/export/perfetto_json.h"
#include "storage/export/run_json.h"
#include "storage/trace_model.h"
#include "tests/common/expect_error.h"
#include "tests/common/test_paths.h"
#include "tests/storage/trace_test_util.h"

namespace moescope {
namespace {

using nlohmann::json;
using storage::RunData;

const trace::OpSite kGemm{"gemm_bf16, \"tiled\"", "matmul"};

// A run on a CPU and a GPU: the script's ops on the CPU (threads 0 and 1), plus kernels on
// GPU 1 stream 7, one nested in another.
RunData sample_run() {
  storage::TraceModel model;
  trace::RunInfo info = test::sample_info();
  info.devices_json = R"(["cpu", {"name": "NVIDIA H100", "kind": "cuda"}])";
  const int64_t id = model.begin_run(info);
  test::Script s;
  s.prompt = 6;
  s.decode = 4;
  s.play(model, id);
  for (int i = 0; i < 3; ++i) {
    trace::OpEvent o;
    o.site = &kGemm;
    o.step = 1;
    o.layer = i;
    o.device = 1;
    o.stream = 7;
    o.start_ns = info.start_ns + 2'000'000 + i * 1000 + 1;  // odd ns: precision must survive
    o.end_ns = o.start_ns + 500;
    model.op(id, o);
  }
  trace::OpEvent inner;
  inner.site = &test::kSiteAttn;
  inner.step = 1;
  inner.device = 1;
  inner.stream = 7;
  inner.start_ns = info.start_ns + 2'000'000 + 1;
  inner.end_ns = inner.start_ns + 100;
  model.op(id, inner);
  // A token whose text is not valid UTF-8 (half of a byte-level character).
  trace::TokenEvent t = test::make_token(s.prompt + s.decode, s.decode + 1, {});
  t.text = "\xe2\x96";
  model.token(id, t);
  model.end_run(id, trace::RunStatus::Complete, info.start_ns + 9'000'000, "");
  RunData out;
  model.read(id, [&](const RunData& r) { out = r; });
  return out;
}

json parse_file(const std::string& path) {
  std::ifstream f(path);
  return json::parse(f);
}

TEST(TraceExport, PerfettoJsonIsStructurallyValid) {
  const RunData run = sample_run();
  const std::string path = test::make_temp_dir("export-perfetto") + "/trace.json";
  storage::export_perfetto_json(run, path);
  const json doc = parse_file(path);
  EXPECT_EQ(doc["displayTimeUnit"], "ns");
  ASSERT_TRUE(doc["traceEvents"].is_array());

  std::set<int64_t> named_pids;
  std::set<std::pair<int64_t, int64_t>> named_tids;
  std::map<int64_t, std::string> process_names;
  for (const json& e : doc["traceEvents"]) {
    if (e["ph"] != "M") continue;
    if (e["name"] == "process_name") {
      named_pids.insert(e["pid"].get<int64_t>());
      process_names[e["pid"].get<int64_t>()] = e["args"]["name"];
    }
    if (e["name"] == "thread_name")
      named_tids.insert({e["pid"].get<int64_t>(), e["tid"].get<int64_t>()});
  }
  EXPECT_EQ(process_names[0], "CPU");
  EXPECT_EQ(process_names[1], "GPU 1 (NVIDIA H100)");

  std::map<std::pair<int64_t, int64_t>, double> last_ts;
  size_t ops = 0, kernels = 0, counters = 0;
  std::set<std::string> range_names;
  for (const json& e : doc["traceEvents"]) {
    ASSERT_TRUE(e.contains("ph") && e.contains("name") && e.contains("pid")) << e.dump();
    EXPECT_TRUE(named_pids.count(e["pid"].get<int64_t>())) << "unnamed pid: " << e.dump();
    if (e["ph"] == "X") {
      for (const char* key : {"name", "ts", "dur", "pid", "tid", "cat"})
        ASSERT_TRUE(e.contains(key)) << key << " missing: " << e.dump();
      const auto track = std::make_pair(e["pid"].get<int64_t>(), e["tid"].get<int64_t>());
      EXPECT_TRUE(named_tids.count(track)) << "unnamed tid: " << e.dump();
      const double ts = e["ts"].get<double>();
      EXPECT_GE(e["dur"].get<double>(), 0.0);
      auto it = last_ts.find(track);
      if (it != last_ts.end()) {
        EXPECT_GE(ts, it->second) << "ts goes back: " << e.dump();
      }
      last_ts[track] = ts;
      if (e["cat"] == "cpu_op") ++ops;
      if (e["cat"] == "kernel") {
        ++kernels;
        EXPECT_EQ(e["args"]["device"], 1);
        EXPECT_EQ(e["args"]["stream"], 7);
      }
      if (e["cat"] == "user_annotation") range_names.insert(e["name"].get<std::string>());
    } else if (e["ph"] == "C") {
      ++counters;
      EXPECT_EQ(e["name"].get<std::string>().rfind("moe L", 0), 0u);
      EXPECT_EQ(e["args"].size(), 8u);  // e0 .. e7
    }
  }
  EXPECT_EQ(ops + kernels, run.ops.size());
  EXPECT_EQ(kernels, 4u);
  EXPECT_TRUE(range_names.count("prefill"));
  EXPECT_TRUE(range_names.count("decode 4"));
  EXPECT_TRUE(range_names.count("layer 3"));
  EXPECT_GT(counters, 0u);

  // Rebased, fractional microseconds: the first GPU kernel starts 2000.001 us after the run.
  bool found = false;
  for (const json& e : doc["traceEvents"]) {
    if (e["ph"] == "X" && e["cat"] == "kernel" && e["name"] == kGemm.name &&
        e["args"]["layer"] == 0) {
      EXPECT_DOUBLE_EQ(e["ts"].get<double>(), 2000.001);
      EXPECT_DOUBLE_EQ(e["dur"].get<double>(), 0.5);
      found = true;
    }
  }
  EXPECT_TRUE(found);

  // The last counter of layer 0 holds every routed (position, slot).
  json last;
  for (const json& e : doc["traceEvents"]) {
    if (e["ph"] == "C" && e["name"] == "moe L0 load") last = e;
  }
  int64_t total = 0;
  for (const auto& [key, v] : last["args"].items()) total += v.get<int64_t>();
  EXPECT_EQ(total, (6 + 4) * 2);
}

std::vector<std::vector<std::string>> read_csv(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(f, line)) {
    std::vector<std::string> cells;
    std::string cell;
    bool quoted = false;
    for (size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cell += '"';
        ++i;
      } else if (c == '"') {
        quoted = !quoted;
      } else if (c == ',' && !quoted) {
        cells.push_back(cell);
        cell.clear();
      } else {
        cell += c;
      }
    }
    cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

TEST(TraceExport, CsvHasTracyColumnsAndRightStatistics) {
  const RunData run = sample_run();
  const std::string path = test::make_temp_dir("export-csv") + "/ops.csv";
  storage::export_ops_csv(run, path);
  const auto rows = read_csv(path);
  ASSERT_GE(rows.size(), 2u);
  const std::vector<std::string> header = {"name",       "src_file", "src_line", "total_ns",
                                           "total_perc", "counts",   "mean_ns",  "min_ns",
                                           "max_ns",     "std_ns"};
  EXPECT_EQ(rows[0], header);
  EXPECT_EQ(rows.size(), 1u + 6u);  // five script sites and the GPU gemm
  int64_t counted = 0;
  for (size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), header.size()) << "row " << i;
    counted += std::stoll(rows[i][5]);
    if (rows[i][0] == kGemm.name) {
      EXPECT_EQ(rows[i][3], "1500");
      EXPECT_EQ(rows[i][5], "3");
      EXPECT_EQ(rows[i][6], "500");
      EXPECT_EQ(rows[i][7], "500");
      EXPECT_EQ(rows[i][8], "500");
      EXPECT_EQ(std::stod(rows[i][9]), 0.0);
    }
    if (i > 1) {
      EXPECT_GE(std::stoll(rows[i - 1][3]), std::stoll(rows[i][3]));  // largest first
    }
  }
  EXPECT_EQ(counted, int64_t(run.ops.size()));
}

TEST(TraceExport, RunJsonHoldsTheWholeRun) {
  const RunData run = sample_run();
  const std::string path = test::make_temp_dir("export-json") + "/run.json";
  storage::export_run_json(run, path);
  const json doc = parse_file(path);
  EXPECT_EQ(doc["format"], "moescope-run");
  EXPECT_EQ(doc["run"]["prompt"], run.info.prompt);
  EXPECT_EQ(doc["run"]["sampling"]["seed"], 42);  // embedded as JSON
  EXPECT_EQ(doc["run"]["status"], "complete");
  EXPECT_EQ(doc["tokens"].size(), run.tokens.size());
  EXPECT_TRUE(doc["tokens"][0]["logprob"].is_null());  // NaN
  EXPECT_EQ(doc["tokens"][3]["text"], run.tokens[3].text);
  EXPECT_EQ(doc["ops"].size(), run.ops.size());
  EXPECT_EQ(doc["ops"][0]["name"], "attn.q_proj");
  EXPECT_EQ(doc["attention"].size(), run.attention.size());
  EXPECT_EQ(doc["attention"][0]["probs"].size(), size_t(run.attention[0].n_queries));
  EXPECT_FLOAT_EQ(doc["attention"][0]["probs"][1][0].get<float>(), run.attention[0].at(1, 0));
  ASSERT_EQ(doc["routing"].size(), run.routing.size());
  EXPECT_EQ(doc["routing"][2]["positions"].size(), 10u);
  EXPECT_EQ(doc["routing"][2]["positions"][5]["ids"].size(), 2u);
  EXPECT_EQ(doc["drops"]["routing"], 0);
  ASSERT_EQ(doc["memory"].size(), run.memory.size());
  ASSERT_FALSE(run.memory.empty());
  EXPECT_EQ(doc["memory"][1]["rss_bytes"], run.memory[1].rss_bytes);
}

TEST(TraceExport, UnwritablePathIsAnErrorNamingIt) {
  const RunData run = sample_run();
  const std::string path = test::make_temp_dir("export-err") + "/no/such/dir/out.json";
  test::expect_error([&] { storage::export_perfetto_json(run, path); }, {path, "cannot create"});
  test::expect_error([&] { storage::export_ops_csv(run, path); }, {path});
  test::expect_error([&] { storage::export_run_json(run, path); }, {path});
}

}  // namespace
}  // namespace moescope
