// The CPU communicator's collectives against serial computations (every group size, uneven
// all-to-all), its failures (mismatched calls and failing ranks end with an error, never a
// hang), and the parallel layout: bad layouts rejected with the parameter named, and the memory
// plan equal to the unsharded sizes of model_stats.h when summed over ranks.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <numeric>

#include "engine/config/model_config.h"
#include "engine/config/model_stats.h"
#include "engine/core/error.h"
#include "engine/parallel/cpu_communicator.h"
#include "engine/parallel/layout.h"
#include "tests/common/expect_error.h"

namespace moescope::parallel {
namespace {

// A value no two (rank, index) pairs share, with a fractional part so that sums are not exact
// in every order. Not inlined: one compiled body, so the compiler's multiply-add contraction
// cannot make the ranks' values differ from the expectations' by an ulp.
[[gnu::noinline]] float value(int rank, size_t i) {
  return float(rank + 1) * 0.1f + float(i) * 1.37f;
}

TEST(CpuCommunicator, CollectivesMatchSerialResults) {
  for (int n : {1, 2, 3, 4}) {
    SCOPED_TRACE("group of " + std::to_string(n));
    constexpr size_t kCount = 37;
    std::vector<std::vector<float>> reduced(static_cast<size_t>(n)),
        gathered(static_cast<size_t>(n)), scattered(static_cast<size_t>(n)),
        exchanged(static_cast<size_t>(n)), broadcast(static_cast<size_t>(n));
    run_ranks(n, [&](Communicator& comm) {
      const int r = comm.rank();
      ASSERT_EQ(comm.size(), n);
      std::vector<float> mine(kCount);
      for (size_t i = 0; i < kCount; ++i) mine[i] = value(r, i);

      std::vector<float> sum = mine;
      comm.all_reduce_sum(sum.data(), kCount);
      reduced[size_t(r)] = sum;

      std::vector<float> all(size_t(n) * kCount);
      comm.all_gather(mine.data(), all.data(), kCount);
      gathered[size_t(r)] = all;

      std::vector<float> blocks(size_t(n) * kCount), part(kCount);
      for (size_t i = 0; i < blocks.size(); ++i) blocks[i] = value(r, i);
      comm.reduce_scatter_sum(blocks.data(), part.data(), kCount);
      scattered[size_t(r)] = part;

      // Uneven all-to-all: rank s sends s + d + 1 values to rank d, each value naming (s, d, j).
      std::vector<size_t> send_counts(static_cast<size_t>(n)), recv_counts(static_cast<size_t>(n));
      std::vector<float> send;
      for (int d = 0; d < n; ++d) {
        send_counts[size_t(d)] = size_t(r + d + 1);
        recv_counts[size_t(d)] = size_t(d + r + 1);
        for (int j = 0; j < r + d + 1; ++j) send.push_back(float(100 * r + 10 * d + j));
      }
      std::vector<float> recv(std::accumulate(recv_counts.begin(), recv_counts.end(), size_t(0)));
      comm.all_to_all(send.data(), send_counts, recv.data(), recv_counts);
      exchanged[size_t(r)] = recv;

      std::vector<float> b = mine;
      comm.broadcast(b.data(), kCount, n - 1);
      broadcast[size_t(r)] = b;
      comm.barrier();
    });
    for (int r = 0; r < n; ++r) {
      for (size_t i = 0; i < kCount; ++i) {
        double want = 0;
        for (int s = 0; s < n; ++s) want += value(s, i);
        ASSERT_NEAR(reduced[size_t(r)][i], want, 1e-5 * std::abs(want)) << r << " " << i;
        // Bitwise identical on every rank (all sum in rank order).
        ASSERT_EQ(std::memcmp(&reduced[size_t(r)][i], &reduced[0][i], sizeof(float)), 0) << r;
        for (int s = 0; s < n; ++s)
          ASSERT_EQ(gathered[size_t(r)][size_t(s) * kCount + i], value(s, i));
        double part = 0;
        for (int s = 0; s < n; ++s) part += value(s, size_t(r) * kCount + i);
        ASSERT_NEAR(scattered[size_t(r)][i], part, 1e-5 * std::abs(part));
        ASSERT_EQ(broadcast[size_t(r)][i], value(n - 1, i));
      }
      std::vector<float> want;
      for (int s = 0; s < n; ++s)
        for (int j = 0; j < s + r + 1; ++j) want.push_back(float(100 * s + 10 * r + j));
      EXPECT_EQ(exchanged[size_t(r)], want) << "rank " << r;
    }
  }
}

TEST(CpuCommunicator, MismatchedCallsFailOnEveryRankInsteadOfHanging) {
  test::expect_error(
      [] {
        run_ranks(3, [](Communicator& comm) {
          std::vector<float> v(size_t(4 + comm.rank()), 1.0f);
          comm.all_reduce_sum(v.data(), v.size());
        });
      },
      {"all_reduce", "every rank must pass the same count"});
  test::expect_error(
      [] {
        run_ranks(2, [](Communicator& comm) {
          std::vector<float> v(4, 1.0f);
          if (comm.rank() == 0)
            comm.all_reduce_sum(v.data(), 4);
          else
            comm.barrier();
        });
      },
      {"collective mismatch", "rank 1 called barrier"});
  test::expect_error(
      [] {
        run_ranks(2, [](Communicator& comm) {
          std::vector<float> send(4, 1.0f), recv(4);
          const std::vector<size_t> counts = {2, 2};
          const std::vector<size_t> wrong = {1, 3};
          comm.all_to_all(send.data(), counts, recv.data(), comm.rank() ? wrong : counts);
        });
      },
      {"all_to_all", "expects"});
}

TEST(CpuCommunicator, AFailingRankEndsTheGroupWithItsOwnError) {
  test::expect_error(
      [] {
        run_ranks(4, [](Communicator& comm) {
          if (comm.rank() == 2) fail("rank 2 could not load its shard");
          std::vector<float> v(8, 1.0f);
          comm.all_reduce_sum(v.data(), v.size());  // the others wait here for rank 2
          comm.barrier();
        });
      },
      {"rank 2 could not load its shard"});
}

TEST(ParallelLayout, BadLayoutsAreRejectedBeforeLoading) {
  const ModelConfig g1 = preset_config("grok-1");  // 48 q / 8 kv heads, 8 experts, FFN 32768
  auto check = [&](ParallelLayout l, int devices, std::vector<std::string> words) {
    test::expect_error([&] { validate_layout(g1, l, devices, "GPUs"); }, words);
  };
  check({5, 1, {}}, -1, {"--tp 5", "48 query heads"});
  check({3, 1, {}}, -1, {"--tp 3", "8 KV heads"});
  check({1, 3, {}}, -1, {"--ep 3", "8 experts"});
  check({1, 2, {0, 1, 0}}, -1, {"--expert-placement", "3 experts", "has 8"});
  check({1, 2, {0, 0, 0, 0, 0, 0, 0, 2}}, -1, {"expert 7", "group 2", "0..1"});
  check({1, 3, {0, 0, 0, 0, 1, 1, 1, 1}}, -1, {"group 2", "without an expert"});
  check({8, 2, {}}, 8, {"16 GPUs", "8 are available"});
  test::expect_error([] { parse_placement("0,1,x"); }, {"--expert-placement", "'x'"});
  test::expect_error([] { parse_weight_format("int4"); }, {"--dtype", "int4"});

  ParallelLayout ok{16, 1, {}};  // more ranks than KV heads: replicated
  validate_layout(g1, ok, 16);
  EXPECT_EQ(ok.expert_group, std::vector<int>(8, 0));
  ParallelLayout ep{2, 4, {}};
  validate_layout(g1, ep);
  EXPECT_EQ(ep.expert_group, (std::vector<int>{0, 0, 1, 1, 2, 2, 3, 3}));
}

TEST(ParallelLayout, MemoryPlanSumsToTheUnshardedModel) {
  for (const char* preset : {"grok-1", "grok-2"}) {
    const ModelConfig c = preset_config(preset);
    const WeightBytes want = weight_bytes(c);
    const std::pair<WeightFormat, int64_t> formats[] = {{WeightFormat::F32, want.f32},
                                                        {WeightFormat::BF16, want.bf16},
                                                        {WeightFormat::Int8, want.int8_scaled},
                                                        {WeightFormat::FP8, want.fp8}};
    for (const auto& [format, bytes] : formats) {
      SCOPED_TRACE(std::string(preset) + " " + weight_format_name(format));
      ParallelLayout one;
      validate_layout(c, one);
      const auto single = memory_plan(c, one, format);
      ASSERT_EQ(single.size(), 1u);
      EXPECT_EQ(single[0].total, bytes);
      EXPECT_EQ(single[0].kv_bytes_per_token, kv_cache_bytes_per_token(c, 2));

      // TP=8 splits everything but the replicated norms and routers.
      ParallelLayout tp8{8, 1, {}};
      validate_layout(c, tp8);
      const auto plan = memory_plan(c, tp8, format);
      ASSERT_EQ(plan.size(), 8u);
      int64_t sharded = 0;
      for (const RankMemory& r : plan) sharded += r.total - r.replicated;
      EXPECT_EQ(sharded, bytes - single[0].replicated);
      EXPECT_EQ(plan[3].kv_bytes_per_token * 8, single[0].kv_bytes_per_token);

      // EP=8: one expert per layer per rank; attention and tables whole on every rank.
      ParallelLayout ep8{1, 8, {}};
      validate_layout(c, ep8);
      const auto eplan = memory_plan(c, ep8, format);
      int64_t experts = 0;
      for (const RankMemory& r : eplan) {
        EXPECT_EQ(r.experts_held, 1);
        EXPECT_EQ(r.attention, single[0].attention);
        experts += r.experts;
      }
      EXPECT_EQ(experts, single[0].experts);
    }
  }
}

}  // namespace
}  // namespace moescope::parallel
