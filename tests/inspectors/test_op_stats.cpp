// Op statistics: grouping, step filter, percentiles against the sorted reference, achieved
// rates and fractions of the machine's ceilings.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "inspectors/analysis/op_stats.h"
#include "tests/inspectors/crafted_run.h"

namespace moescope::inspectors {
namespace {

void add_op(storage::RunData& run, const char* name, const char* kind, int64_t step, int32_t layer,
            int32_t expert, int32_t device, int64_t ns, int64_t bytes, int64_t flops) {
  storage::OpRecord op;
  op.name = run.intern(name);
  op.kind = run.intern(kind);
  op.step = step;
  op.layer = layer;
  op.expert = expert;
  op.device = device;
  op.start_ns = 1000 * step;
  op.end_ns = op.start_ns + ns;
  op.bytes = bytes;
  op.flops = flops;
  run.ops.push_back(op);
}

// Two layers; per step and layer a q_proj (matmul), a norm, and an expert matmul.
storage::RunData op_run() {
  auto run = test::crafted_run({1}, 2, 4, 2);
  for (int64_t step = 0; step < 4; ++step)
    for (int32_t l = 0; l < 2; ++l) {
      add_op(run, "attn.q_proj", "matmul", step, l, -1, 0, 100 + 10 * step + l, 1000, 4000);
      add_op(run, "attn.norm", "norm", step, l, -1, 0, 20, 200, 50);
      add_op(run, "moe.expert.up_proj", "matmul", step, l, int32_t(step % 2), step < 2 ? 0 : 1, 300,
             6000, 600);
    }
  add_op(run, "output.lm_head", "matmul", 3, -1, -1, 0, 50, 500, 500);
  return run;
}

const OpGroup* find(const std::vector<OpGroup>& g, const std::string& name, int32_t layer = -1) {
  for (const OpGroup& x : g)
    if (x.name == name && x.layer == layer) return &x;
  return nullptr;
}

TEST(OpStats, ByNameMatchesSortedReference) {
  const auto run = op_run();
  const auto groups = op_stats(run, OpGrouping::Name);
  ASSERT_EQ(groups.size(), 4u);
  EXPECT_EQ(groups[0].name, "moe.expert.up_proj");  // 2400 ns, the largest total
  const OpGroup* q = find(groups, "attn.q_proj");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->kind, "matmul");
  std::vector<double> d;
  for (int64_t step = 0; step < 4; ++step)
    for (int l = 0; l < 2; ++l) d.push_back(double(100 + 10 * step + l));
  std::sort(d.begin(), d.end());
  EXPECT_EQ(q->time_ns.count, 8);
  EXPECT_DOUBLE_EQ(q->time_ns.total, 924);
  EXPECT_DOUBLE_EQ(q->time_ns.mean, 115.5);
  EXPECT_DOUBLE_EQ(q->time_ns.p50, percentile_sorted(d, 50));
  EXPECT_DOUBLE_EQ(q->time_ns.p90, percentile_sorted(d, 90));
  EXPECT_DOUBLE_EQ(q->time_ns.p99, percentile_sorted(d, 99));
  EXPECT_DOUBLE_EQ(q->bytes, 8000);
  EXPECT_DOUBLE_EQ(q->gbps, 8000.0 / 924);  // bytes per ns = GB/s
  EXPECT_DOUBLE_EQ(q->gflops, 32000.0 / 924);
  EXPECT_DOUBLE_EQ(q->time_share, 924.0 / (924 + 160 + 2400 + 50));
  EXPECT_TRUE(std::isnan(q->bandwidth_fraction));  // no ceilings given
  double shares = 0;
  for (const OpGroup& g : groups) shares += g.time_share;
  EXPECT_NEAR(shares, 1.0, 1e-12);
}

TEST(OpStats, OtherGroupingsAndCeilings) {
  const auto run = op_run();
  MachineCeilings c;
  c.read_gbps = 10;
  c.gemm_gflops = 4;
  const auto by_layer = op_stats(run, OpGrouping::NameLayer, {}, &c);
  const OpGroup* q1 = find(by_layer, "attn.q_proj", 1);
  ASSERT_NE(q1, nullptr);
  EXPECT_EQ(q1->time_ns.count, 4);
  EXPECT_DOUBLE_EQ(q1->time_ns.total, 101 + 111 + 121 + 131);
  EXPECT_DOUBLE_EQ(q1->bandwidth_fraction, (4000.0 / 464) / 10);
  EXPECT_DOUBLE_EQ(q1->compute_fraction, (16000.0 / 464) / 4);

  const auto kinds = op_stats(run, OpGrouping::Kind);
  ASSERT_EQ(kinds.size(), 2u);
  EXPECT_EQ(kinds[0].kind, "matmul");
  EXPECT_EQ(kinds[0].time_ns.count, 17);
  EXPECT_EQ(kinds[1].kind, "norm");
  EXPECT_TRUE(kinds[1].name.empty());

  const auto layers = op_stats(run, OpGrouping::Layer);
  ASSERT_EQ(layers.size(), 3u);  // 0, 1 and the lm_head outside any layer
  EXPECT_EQ(layers.back().layer, -1);
  EXPECT_EQ(layers.back().time_ns.count, 1);

  const auto experts = op_stats(run, OpGrouping::Expert);
  ASSERT_EQ(experts.size(), 3u);
  for (const OpGroup& g : experts) {
    if (g.expert >= 0) {
      EXPECT_EQ(g.time_ns.count, 4) << g.expert;
    }
  }

  const auto devices = op_stats(run, OpGrouping::Device);
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_EQ(devices[0].device, 0);
  EXPECT_EQ(devices[1].device, 1);
  EXPECT_EQ(devices[1].time_ns.count, 4);
}

TEST(OpStats, StepFilter) {
  const auto run = op_run();
  OpFilter decode;
  decode.first_step = 1;
  decode.last_step = 2;
  const auto groups = op_stats(run, OpGrouping::Name, decode);
  const OpGroup* q = find(groups, "attn.q_proj");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->time_ns.count, 4);
  EXPECT_DOUBLE_EQ(q->time_ns.min, 110);
  EXPECT_DOUBLE_EQ(q->time_ns.max, 121);
  EXPECT_EQ(find(groups, "output.lm_head"), nullptr);  // only at step 3
}

TEST(OpStats, GroupingNamesRoundTrip) {
  for (OpGrouping g : {OpGrouping::Name, OpGrouping::NameLayer, OpGrouping::Kind, OpGrouping::Layer,
                       OpGrouping::Expert, OpGrouping::Device}) {
    OpGrouping back = OpGrouping::Name;
    EXPECT_TRUE(parse_op_grouping(op_grouping_name(g), back));
    EXPECT_EQ(back, g);
  }
  OpGrouping unused;
  EXPECT_FALSE(parse_op_grouping("names", unused));
}

}  // namespace
}  // namespace moescope::inspectors
