// Per-layer expert load and router statistics on crafted routing with hand-computed values.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "inspectors/analysis/position_range.h"
#include "inspectors/analysis/routing_stats.h"
#include "tests/common/expect_error.h"
#include "tests/inspectors/crafted_run.h"

namespace moescope::inspectors {
namespace {

using test::crafted_run;
using test::route;

TEST(RoutingStats, PerfectBalanceGivesTheBalancedValues) {
  // 8 tokens, E = 8, k = 2: token t picks {t, t+1 mod 8}, every expert twice; uniform probs.
  auto run = crafted_run(std::vector<int32_t>(8, 5), 1, 8, 2);
  for (int32_t t = 0; t < 8; ++t) route(run, 0, t, {t, (t + 1) % 8});
  RoutingStatsOptions o;
  o.capacity_factor = 1.0;
  const LayerRoutingStats s = layer_routing_stats(run, 0, whole_run(), o);
  EXPECT_EQ(s.tokens, 8);
  for (int e = 0; e < 8; ++e) {
    EXPECT_EQ(s.load[size_t(e)], 2);
    EXPECT_EQ(s.first_load[size_t(e)], 1);
    EXPECT_DOUBLE_EQ(s.share[size_t(e)], 0.125);
  }
  EXPECT_NEAR(s.cv, 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(s.max_over_mean, 1.0);
  EXPECT_NEAR(s.load_entropy, 1.0, 1e-12);
  EXPECT_NEAR(s.aux_switch, 1.0, 1e-6);   // Switch convention: 1 at balance
  EXPECT_NEAR(s.aux_hf_topk, 2.0, 1e-6);  // HF top-k convention: k at balance
  EXPECT_NEAR(s.aux_normalised, 1.0, 1e-6);
  EXPECT_NEAR(s.router_entropy, 1.0, 1e-6);  // uniform probabilities
  EXPECT_NEAR(s.top1_margin, 0.0, 1e-7);
  EXPECT_NEAR(s.topk_mass, 0.25, 1e-7);
  EXPECT_NEAR(s.gate_sum, 0.25, 1e-7);
  EXPECT_EQ(s.capacity, 2);  // ceil(8 * 2 / 8 * 1.0)
  EXPECT_EQ(s.dropped, 0);
  EXPECT_DOUBLE_EQ(s.drop_rate, 0.0);
}

TEST(RoutingStats, AllTokensOnTheSameKExpertsGivesMaxOverMeanEOverK) {
  auto run = crafted_run(std::vector<int32_t>(8, 5), 1, 8, 2);
  for (int32_t t = 0; t < 8; ++t) route(run, 0, t, {3, 5});
  RoutingStatsOptions o;
  o.capacity_factor = 1.0;
  const LayerRoutingStats s = layer_routing_stats(run, 0, whole_run(), o);
  EXPECT_DOUBLE_EQ(s.max_over_mean, 4.0);  // E / k
  // loads {8, 8, 0 x 6}, mean 2: variance (2 * 36 + 6 * 4) / 8 = 12, CV = sqrt(12) / 2 = sqrt 3.
  EXPECT_NEAR(s.cv, std::sqrt(3.0), 1e-12);
  EXPECT_NEAR(s.load_entropy, 1.0 / 3.0, 1e-12);  // ln 2 / ln 8
  EXPECT_DOUBLE_EQ(s.share[3], 0.5);
  EXPECT_DOUBLE_EQ(s.share[0], 0.0);
  EXPECT_EQ(s.capacity, 2);
  EXPECT_EQ(s.dropped, 12);  // 2 x (8 - 2)
  EXPECT_DOUBLE_EQ(s.drop_rate, 0.75);
}

TEST(RoutingStats, HandComputedSmallCase) {
  // E = 4, k = 2, two tokens.
  auto run = crafted_run({1, 2}, 1, 4, 2);
  route(run, 0, 0, {0, 1}, {0.5f, 0.3f, 0.1f, 0.1f});
  route(run, 0, 1, {0, 2}, {0.6f, 0.1f, 0.2f, 0.1f});
  RoutingStatsOptions o;
  o.capacity_factor = 1.0;
  const LayerRoutingStats s = layer_routing_stats(run, 0, whole_run(), o);
  // loads {2, 1, 1, 0}, first loads {2, 0, 0, 0}, P = {0.55, 0.2, 0.15, 0.1}.
  EXPECT_EQ(s.load, (std::vector<int64_t>{2, 1, 1, 0}));
  EXPECT_EQ(s.first_load, (std::vector<int64_t>{2, 0, 0, 0}));
  EXPECT_NEAR(s.mean_prob[0], 0.55, 1e-7);
  EXPECT_NEAR(s.mean_prob[2], 0.15, 1e-7);
  EXPECT_NEAR(s.cv, std::sqrt(0.5), 1e-12);  // mean 1, variance (1 + 0 + 0 + 1) / 4
  EXPECT_DOUBLE_EQ(s.max_over_mean, 2.0);
  EXPECT_NEAR(s.load_entropy, 0.75, 1e-12);  // shares {1/2, 1/4, 1/4, 0}: 1.5 ln 2 / ln 4
  EXPECT_NEAR(s.aux_switch, 4 * (1.0 * 0.55), 1e-6);
  EXPECT_NEAR(s.aux_hf_topk, 4 * (1.0 * 0.55 + 0.5 * 0.2 + 0.5 * 0.15), 1e-6);  // 2.9
  EXPECT_NEAR(s.aux_normalised, 1.45, 1e-6);
  const double h0 = -(0.5 * std::log(0.5) + 0.3 * std::log(0.3) + 0.2 * std::log(0.1));
  const double h1 = -(0.6 * std::log(0.6) + 0.2 * std::log(0.1) + 0.2 * std::log(0.2));
  EXPECT_NEAR(s.router_entropy_nats, (h0 + h1) / 2, 1e-6);
  EXPECT_NEAR(s.router_entropy, (h0 + h1) / 2 / std::log(4.0), 1e-6);
  EXPECT_NEAR(s.top1_margin, (0.2 + 0.4) / 2, 1e-6);
  EXPECT_NEAR(s.topk_mass, 0.8, 1e-6);
  EXPECT_NEAR(s.gate_sum, 0.8, 1e-6);
  EXPECT_EQ(s.capacity, 1);  // ceil(2 * 2 / 4 * 1.0)
  EXPECT_EQ(s.dropped, 1);
  EXPECT_DOUBLE_EQ(s.drop_rate, 0.25);
  o.capacity_factor = 1.5;
  EXPECT_EQ(layer_routing_stats(run, 0, whole_run(), o).capacity, 2);
  EXPECT_DOUBLE_EQ(layer_routing_stats(run, 0, whole_run(), o).drop_rate, 0.0);
}

TEST(RoutingStats, GateSumDiffersFromTopKMassWhenGatesAreRenormalised) {
  auto run = crafted_run({1}, 1, 4, 2);
  route(run, 0, 0, {0, 1}, {0.5f, 0.3f, 0.1f, 0.1f});
  run.routing[0].gates = {0.625f, 0.375f};  // Mixtral-style renormalised top-2
  const LayerRoutingStats s = layer_routing_stats(run, 0);
  EXPECT_NEAR(s.topk_mass, 0.8, 1e-6);
  EXPECT_NEAR(s.gate_sum, 1.0, 1e-6);
}

TEST(RoutingStats, CapacityOfAnExactProductDoesNotRoundUp) {
  // T k / E = 100 * 2 / 8 = 25; x 2.2 = 55 in decimal, 55.00000000000001 in binary.
  auto run = crafted_run(std::vector<int32_t>(100, 1), 1, 8, 2);
  for (int32_t t = 0; t < 100; ++t) route(run, 0, t, {t % 8, (t + 3) % 8});
  RoutingStatsOptions o;
  o.capacity_factor = 2.2;
  EXPECT_EQ(layer_routing_stats(run, 0, whole_run(), o).capacity, 55);
}

TEST(RoutingStats, SkipsPositionsWithoutRoutingAndHonoursTheRange) {
  auto run = crafted_run({1, 2, 3, 4, 5, 6}, 2, 4, 1);
  route(run, 0, 0, {0});
  route(run, 0, 2, {1});
  route(run, 0, 3, {1});
  route(run, 0, 5, {2});
  const LayerRoutingStats all = layer_routing_stats(run, 0);
  EXPECT_EQ(all.tokens, 4);
  EXPECT_EQ(all.load, (std::vector<int64_t>{1, 2, 1, 0}));
  const LayerRoutingStats part = layer_routing_stats(run, 0, {2, 4});
  EXPECT_EQ(part.tokens, 2);
  EXPECT_EQ(part.load, (std::vector<int64_t>{0, 2, 0, 0}));
  // A layer with nothing recorded: counts zero, ratios NaN.
  const LayerRoutingStats none = layer_routing_stats(run, 1);
  EXPECT_EQ(none.tokens, 0);
  EXPECT_TRUE(std::isnan(none.cv));
  EXPECT_TRUE(std::isnan(none.aux_hf_topk));
  EXPECT_EQ(routing_stats(run).size(), 2u);
}

TEST(RoutingStats, LastDecodeStepsWindow) {
  // Prompt of 4 positions at step 0, then decode steps 1..5 routing positions 4..8.
  auto run = crafted_run(std::vector<int32_t>(9, 1), 2, 4, 1);
  for (int32_t p = 0; p < 9; ++p)
    for (int32_t l = 0; l < 2; ++l) route(run, l, p, {p % 4}, {}, p < 4 ? 0 : p - 3);
  EXPECT_EQ(last_decode_steps(run, 2).begin, 7);
  EXPECT_EQ(last_decode_steps(run, 5).begin, 4);
  EXPECT_EQ(last_decode_steps(run, 50).begin, 4);  // never reaches into the prefill
  const PositionRange none = last_decode_steps(run, 0);
  EXPECT_EQ(none.begin, none.end);
  // A live run where layer 1 has not yet routed step 5: the window follows the newest layer.
  run.routing[1].present[8] = 0;
  EXPECT_EQ(last_decode_steps(run, 2).begin, 7);
  EXPECT_EQ(layer_routing_stats(run, 0, last_decode_steps(run, 2)).tokens, 2);
  EXPECT_EQ(layer_routing_stats(run, 1, last_decode_steps(run, 2)).tokens, 1);
  // Prefill only: no window.
  auto prefill = crafted_run({1, 2}, 1, 4, 1);
  route(prefill, 0, 0, {0});
  route(prefill, 0, 1, {1});
  const PositionRange w = last_decode_steps(prefill, 3);
  EXPECT_EQ(w.begin, w.end);
}

TEST(RoutingStats, RouterZLossFromLogits) {
  // Rows [0, 0] and [1000, 1000]: log-sum-exp ln 2 and 1000 + ln 2 (stable at large logits).
  const float logits[] = {0.0f, 0.0f, 1000.0f, 1000.0f};
  const double l2 = std::log(2.0);
  EXPECT_NEAR(router_z_loss(logits, 2, 2), (l2 * l2 + (1000 + l2) * (1000 + l2)) / 2, 1e-6);
  EXPECT_NEAR(router_z_loss(logits, 1, 2), l2 * l2, 1e-12);
  EXPECT_TRUE(std::isnan(router_z_loss(logits, 0, 2)));
}

TEST(RoutingStats, LayerZLossUsesRecordedLogitsAndIsNaNWithoutThem) {
  auto run = crafted_run({1, 2}, 1, 2, 1);
  route(run, 0, 0, {0});
  route(run, 0, 1, {1});
  EXPECT_TRUE(std::isnan(layer_routing_stats(run, 0).router_z_loss));  // no logits recorded
  // Rows [0, 0] and [2, 0]: log-sum-exp ln 2 and 2 + ln(1 + e^-2).
  run.routing[0].logits = {0.0f, 0.0f, 2.0f, 0.0f};
  const double a = std::log(2.0), b = 2 + std::log1p(std::exp(-2.0));
  EXPECT_NEAR(layer_routing_stats(run, 0).router_z_loss, (a * a + b * b) / 2, 1e-6);
  // One position without logits (NaN) makes the layer's z-loss unknown, never a partial mean.
  run.routing[0].logits[2] = std::nanf("");
  EXPECT_TRUE(std::isnan(layer_routing_stats(run, 0).router_z_loss));
}

TEST(RoutingStats, TokenScalarsHandComputed) {
  const float p[] = {0.1f, 0.6f, 0.1f, 0.2f};
  const TokenRouterScalars s = token_router_scalars(p, 4, 2);
  EXPECT_NEAR(s.margin, 0.4, 1e-7);
  EXPECT_NEAR(s.topk_mass, 0.8, 1e-7);
  EXPECT_NEAR(s.entropy, -(0.2 * std::log(0.1) + 0.6 * std::log(0.6) + 0.2 * std::log(0.2)), 1e-7);
  const float tie[] = {0.3f, 0.3f, 0.3f, 0.1f};  // a tie: margin 0, mass of three with k = 3
  EXPECT_NEAR(token_router_scalars(tie, 4, 1).margin, 0.0, 1e-9);
  EXPECT_NEAR(token_router_scalars(tie, 4, 3).topk_mass, 0.9, 1e-7);
  const float one[] = {1.0f};  // E = 1: the margin is p_(1)
  EXPECT_NEAR(token_router_scalars(one, 1, 1).margin, 1.0, 1e-9);
}

TEST(RoutingStats, CacheFollowsALiveRunAndChangesNothing) {
  auto full = crafted_run(std::vector<int32_t>(12, 1), 2, 4, 2);
  std::mt19937_64 rng(3);
  for (int32_t l = 0; l < 2; ++l)
    for (int32_t p = 0; p < 12; ++p) {
      auto probs = test::random_softmax(rng, 4, 1.5f);
      route(full, l, p, {p % 4, (p + 1) % 4}, probs);
    }
  // The live run grows by positions; the cache is updated as it grows.
  auto live = full;
  for (auto& r : live.routing) std::fill(r.present.begin() + 5, r.present.end(), 0);
  RoutingCache cache;
  cache.update(live);
  EXPECT_NE(cache.find(1, 4), nullptr);
  EXPECT_EQ(cache.find(1, 5), nullptr);
  live.routing[0].present[5] = live.routing[1].present[5] = 1;
  cache.update(live);
  EXPECT_NE(cache.find(0, 5), nullptr);
  live = full;  // a position the cache has not seen is computed on the fly
  for (int32_t l = 0; l < 2; ++l) {
    const LayerRoutingStats a = layer_routing_stats(full, l);
    const LayerRoutingStats b = layer_routing_stats(live, l, whole_run(), {}, &cache);
    EXPECT_EQ(a.load, b.load);
    EXPECT_DOUBLE_EQ(a.router_entropy, b.router_entropy);
    EXPECT_DOUBLE_EQ(a.top1_margin, b.top1_margin);
    EXPECT_DOUBLE_EQ(a.topk_mass, b.topk_mass);
  }
  EXPECT_DOUBLE_EQ(cache.find(0, 3)->entropy,
                   token_router_scalars(full.routing[0].probs.data() + 3 * 4, 4, 2).entropy);
  // Another run starts over.
  auto other = crafted_run({1}, 1, 4, 2);
  other.id = 7;
  cache.update(other);
  EXPECT_EQ(cache.find(0, 3), nullptr);
}

TEST(RoutingStats, InconsistentRoutingArraysAreAnError) {
  auto run = crafted_run({1, 2}, 1, 4, 2);
  route(run, 0, 0, {0, 1});
  run.routing[0].probs.resize(5);
  test::expect_error([&] { layer_routing_stats(run, 0); }, {"layer 0", "probs", "[P, E]"});
  auto bad_id = crafted_run({1}, 1, 4, 2);
  route(bad_id, 0, 0, {0, 9});
  test::expect_error([&] { layer_routing_stats(bad_id, 0); }, {"layer 0", "expert id 9", "0 .. 3"});
  test::expect_error([&] { layer_routing_stats(bad_id, 3); }, {"layer 3", "1 layers"});
}

}  // namespace
}  // namespace moescope::inspectors
