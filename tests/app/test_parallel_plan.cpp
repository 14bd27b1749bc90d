// `moescope info --tp N --ep M --dtype D`: the per-GPU plan of a sharded Grok-1, checked against
// the unsharded sizes, and bad layouts refused with the parameter named before anything else.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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

}  // namespace
}  // namespace moescope
