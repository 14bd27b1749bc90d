// `moescope info --tp N --ep M --dtype D`: the per-GPU plan of a sharded Grok-1, checked against
// the unsharded sizes, and bad layouts refused with the parameter named before anything else;
// `generate` and `run` sharded over CPU ranks give the unsharded output and routing, and the
// trace records the layout.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "storage/trace_file.h"
#include "tests/app/cli_runner.h"

namespace moescope {
namespace {

using test::moescope;

TEST(ParallelPlanCli, Grok1OnEightGpus) {
  const auto r = moescope({"info", "--preset", "grok-1", "--tp", "8", "--dtype", "bf16", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const auto& plan = j["parallel_plan"];
  ASSERT_EQ(plan["ranks"].size(), 8u);
  int64_t sharded = 0;
  for (const auto& rank : plan["ranks"]) {
    sharded += rank["total_bytes"].get<int64_t>() - rank["replicated_bytes"].get<int64_t>();
    EXPECT_TRUE(rank["fits"].get<bool>());  // 78.9 GB of bf16 weights per 80 GB GPU
    EXPECT_EQ(rank["kv_heads_held"], 1);
  }
  const int64_t replicated = plan["ranks"][0]["replicated_bytes"];
  EXPECT_EQ(sharded + replicated, j["weight_bytes"]["bf16"].get<int64_t>());

  const auto text = moescope({"info", "--preset", "grok-1", "--tp", "2", "--ep", "4"});
  ASSERT_EQ(text.rc, 0) << text.err;
  EXPECT_NE(text.out.find("--tp 2 x --ep 4 = 8 ranks"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("ranks 6..7"), std::string::npos) << text.out;
  // bf16 with attention whole in each expert group: 83.8 GB per rank, over an 80 GB GPU.
  EXPECT_NE(text.out.find("does not fit"), std::string::npos) << text.out;
}

TEST(ParallelPlanCli, BadLayoutsNameTheParameter) {
  const auto heads = moescope({"info", "--preset", "grok-1", "--tp", "5"});
  EXPECT_EQ(heads.rc, 1);
  EXPECT_NE(heads.err.find("--tp 5 does not divide the 48 query heads"), std::string::npos)
      << heads.err;
  EXPECT_TRUE(heads.out.empty()) << "nothing printed before the error: " << heads.out;
  const auto experts = moescope({"info", "--preset", "grok-1", "--ep", "3"});
  EXPECT_EQ(experts.rc, 1);
  EXPECT_NE(experts.err.find("--ep 3 does not divide"), std::string::npos) << experts.err;
  const auto dtype = moescope({"info", "--preset", "grok-1", "--tp", "8", "--dtype", "int4"});
  EXPECT_EQ(dtype.rc, 1);
  EXPECT_NE(dtype.err.find("--dtype must be f32, bf16, int8 or fp8"), std::string::npos);
}

TEST(ShardedCli, RunOnCpuRanksRecordsTheSameRoutingAndItsLayout) {
  const std::string dir = test::make_temp_dir("sharded-run");
  const std::string db = dir + "/t.db";
  const std::vector<std::string> common = {"run",          "--trace",      db,   "--prompt",
                                           "And God said", "--max-tokens", "12", "--quiet"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> a = common;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  ASSERT_EQ(moescope(with({"--threads", "1"})).rc, 0);
  const auto sharded = moescope(with({"--tp", "2", "--ep", "2", "--threads", "4"}));
  ASSERT_EQ(sharded.rc, 0) << sharded.err;
  auto file = storage::TraceFile::open(db);
  const storage::RunData whole = file->load(1), split = file->load(2);
  ASSERT_EQ(whole.tokens.size(), split.tokens.size());
  for (size_t p = 0; p < whole.tokens.size(); ++p)
    EXPECT_EQ(whole.tokens[p].id, split.tokens[p].id) << "position " << p;
  ASSERT_EQ(whole.routing.size(), split.routing.size());
  for (size_t l = 0; l < whole.routing.size(); ++l)
    EXPECT_EQ(whole.routing[l].ids, split.routing[l].ids) << "layer " << l;
  const auto layout = nlohmann::json::parse(split.info.layout_json);
  EXPECT_EQ(layout["tp"], 2);
  EXPECT_EQ(layout["ep"], 2);
  EXPECT_EQ(layout["expert_placement"], nlohmann::json({0, 0, 0, 0, 1, 1, 1, 1}));
  EXPECT_EQ(layout["devices"].size(), 4u);
  EXPECT_EQ(nlohmann::json::parse(split.info.devices_json).size(), 4u);
  // Every rank's ops are recorded on its own device, collectives included.
  std::set<int32_t> devices;
  bool comm = false;
  for (const auto& op : split.ops) {
    devices.insert(op.device);
    comm = comm || split.strings[size_t(op.kind)] == "communication";
  }
  EXPECT_EQ(devices, (std::set<int32_t>{0, 1, 2, 3}));
  EXPECT_TRUE(comm);

  // The report shows how the two expert groups shared the routed assignments.
  const auto report = moescope({"report", db, "--run", "2", "--json"});
  ASSERT_EQ(report.rc, 0) << report.err;
  const auto ep = nlohmann::json::parse(report.out)["expert_parallel"];
  ASSERT_EQ(ep["layers"].size(), split.routing.size());
  for (const auto& layer : ep["layers"]) {
    int64_t served = 0;
    for (const auto& v : layer["group_load"]) served += v.get<int64_t>();
    EXPECT_EQ(served, split.n_positions() * split.info.top_k);
    EXPECT_GT(layer["balance"].get<double>(), 0.5);
  }

  const auto bad = moescope(with({"--ep", "3"}));
  EXPECT_EQ(bad.rc, 1);
  EXPECT_NE(bad.err.find("--ep 3 does not divide"), std::string::npos) << bad.err;
  EXPECT_EQ(file->runs().size(), 2u) << "a refused layout must not start a run";
}

}  // namespace
}  // namespace moescope
