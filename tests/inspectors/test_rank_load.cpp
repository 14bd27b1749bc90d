// Expert-parallel balance from a run's layout: group loads are the sums of their experts' loads,
// balance is mean / max, and a bad layout names the run.
#include <gtest/gtest.h>

#include <cmath>

#include "inspectors/analysis/rank_load.h"
#include "inspectors/analysis/report.h"
#include "tests/common/expect_error.h"
#include "tests/inspectors/crafted_run.h"

namespace moescope::inspectors {
namespace {

TEST(RankLoad, GroupLoadsAndBalance) {
  // 4 tokens, 1 layer, 8 experts top-2; experts 0..3 on group 0, 4..7 on group 1.
  auto run = test::crafted_run({1, 2, 3, 4}, 1, 8, 2);
  test::route(run, 0, 0, {0, 1});
  test::route(run, 0, 1, {0, 5});
  test::route(run, 0, 2, {2, 3});
  test::route(run, 0, 3, {1, 7});
  EXPECT_EQ(expert_groups(run).ep, 1);  // no layout: not expert-parallel
  EXPECT_TRUE(group_loads(expert_groups(run), routing_stats(run)).empty());

  run.info.layout_json = R"({"tp": 2, "ep": 2, "expert_placement": [0,0,0,0,1,1,1,1]})";
  const ExpertGroups g = expert_groups(run);
  EXPECT_EQ(g.ep, 2);
  EXPECT_EQ(g.tp, 2);
  const auto loads = group_loads(g, routing_stats(run));
  ASSERT_EQ(loads.size(), 1u);
  EXPECT_EQ(loads[0].load, (std::vector<int64_t>{6, 2}));
  EXPECT_DOUBLE_EQ(loads[0].balance, 4.0 / 6.0);

  const auto j = report_json(run);
  EXPECT_EQ(j["expert_parallel"]["layers"][0]["group_load"], nlohmann::json({6, 2}));
  EXPECT_NE(render_report_text(run).find("Expert groups (EP 2 x TP 2)"), std::string::npos);

  run.info.layout_json = R"({"tp": 1, "ep": 2, "expert_placement": [0,0,0,0,1,1,1,2]})";
  test::expect_error([&] { expert_groups(run); }, {"layout_json", "group 2", "0..1"});
  run.info.layout_json = R"({"tp": 1, "ep": 2, "expert_placement": [0,1]})";
  test::expect_error([&] { expert_groups(run); }, {"places 2 experts", "has 8"});
}

}  // namespace
}  // namespace moescope::inspectors
