// Property tests on random traces: invariants every analysis must keep whatever the routing
// and attention look like.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "inspectors/analysis/attention_metrics.h"
#include "inspectors/analysis/coactivation.h"
#include "inspectors/analysis/consecutive.h"
#include "inspectors/analysis/op_stats.h"
#include "inspectors/analysis/position_range.h"
#include "inspectors/analysis/routing_stats.h"
#include "inspectors/analysis/specialisation.h"
#include "inspectors/analysis/stability.h"
#include "tests/inspectors/crafted_run.h"

namespace moescope::inspectors {
namespace {

constexpr int32_t kLayers = 3, kHeads = 2;

// P positions over a 12-token vocabulary (so tokens repeat), a prompt of 40 positions at step 0
// and one decode step per position after; router probabilities from random logits (sharp or
// flat by seed), the top-k of each selected; ~5% of positions unrecorded. Attention: each head
// gets the prompt's last rows and one row per decode step, random softmax rows.
storage::RunData random_run(uint64_t seed, int32_t E, int32_t K) {
  std::mt19937_64 rng(seed);
  const int64_t P = 160, prompt = 40;
  std::uniform_int_distribution<int32_t> token(0, 11);
  std::vector<int32_t> ids(static_cast<size_t>(P));
  for (auto& id : ids) id = token(rng);
  auto run = test::crafted_run(ids, kLayers, E, K, kHeads);
  const float scale = 0.3f + float(seed % 4);
  std::bernoulli_distribution skip(0.05);
  for (int32_t l = 0; l < kLayers; ++l)
    for (int64_t p = 0; p < P; ++p) {
      if (skip(rng)) continue;
      const auto probs = test::random_softmax(rng, E, scale);
      std::vector<int32_t> order(static_cast<size_t>(E));
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(),
                       [&](int32_t a, int32_t b) { return probs[size_t(a)] > probs[size_t(b)]; });
      order.resize(size_t(K));
      test::route(run, l, p, order, probs, p < prompt ? 0 : p - prompt + 1);
    }
  for (int32_t l = 0; l < kLayers; ++l)
    for (int32_t h = 0; h < kHeads; ++h) {
      std::vector<std::vector<float>> rows;
      for (int64_t t = prompt - 16; t < prompt; ++t)
        rows.push_back(test::random_softmax(rng, t + 1, 2));
      test::attend(run, l, h, prompt - 16, rows, prompt);
      for (int64_t t = prompt; t < P; ++t)
        test::attend(run, l, h, t, {test::random_softmax(rng, t + 1, 2)}, t + 1);
    }
  return run;
}

class RandomTraces : public ::testing::TestWithParam<int> {};

TEST_P(RandomTraces, RoutingStatisticsStayInRange) {
  const uint64_t seed = uint64_t(GetParam());
  const int32_t E = seed % 2 ? 8 : 16, K = seed % 3 ? 2 : 4;
  const auto run = random_run(seed, E, K);
  for (const LayerRoutingStats& s : routing_stats(run)) {
    SCOPED_TRACE(s.layer);
    ASSERT_GT(s.tokens, 0);
    double shares = 0, probs = 0;
    int64_t slots = 0, firsts = 0;
    for (int32_t e = 0; e < E; ++e) {
      shares += s.share[size_t(e)];
      probs += s.mean_prob[size_t(e)];
      slots += s.load[size_t(e)];
      firsts += s.first_load[size_t(e)];
    }
    EXPECT_NEAR(shares, 1.0, 1e-12);
    EXPECT_NEAR(probs, 1.0, 1e-5);
    EXPECT_EQ(slots, s.tokens * K);
    EXPECT_EQ(firsts, s.tokens);
    EXPECT_GE(s.cv, 0.0);
    EXPECT_LE(s.cv, std::sqrt(double(E) / K - 1) + 1e-12);  // all load on k experts
    EXPECT_GE(s.max_over_mean, 1.0);
    EXPECT_LE(s.max_over_mean, double(E) / K + 1e-12);
    EXPECT_GE(s.load_entropy, 0.0);
    EXPECT_LE(s.load_entropy, 1.0 + 1e-12);
    EXPECT_GE(s.router_entropy, 0.0);
    EXPECT_LE(s.router_entropy, 1.0 + 1e-6);
    EXPECT_GE(s.top1_margin, 0.0);
    EXPECT_LE(s.top1_margin, 1.0);
    EXPECT_GE(s.topk_mass, double(K) / E - 1e-6);  // the k largest of E carry at least k/E
    EXPECT_LE(s.topk_mass, 1.0 + 1e-6);
    EXPECT_NEAR(s.gate_sum, s.topk_mass, 1e-6);  // Grok-1 gates are the top-k probabilities
    EXPECT_NEAR(s.aux_normalised, s.aux_hf_topk / K, 1e-12);
    EXPECT_GE(s.drop_rate, 0.0);
    EXPECT_LE(s.drop_rate, 1.0);
  }
}

TEST_P(RandomTraces, CachedStatisticsEqualDirectOnes) {
  const auto run = random_run(uint64_t(GetParam()), 8, 2);
  RoutingCache cache;
  cache.update(run);
  const auto direct = routing_stats(run);
  const auto cached = routing_stats(run, whole_run(), {}, &cache);
  for (size_t l = 0; l < direct.size(); ++l) {
    EXPECT_EQ(direct[l].router_entropy, cached[l].router_entropy);
    EXPECT_EQ(direct[l].top1_margin, cached[l].top1_margin);
    EXPECT_EQ(direct[l].topk_mass, cached[l].topk_mass);
  }
}

TEST_P(RandomTraces, WindowEqualsExplicitRange) {
  const auto run = random_run(uint64_t(GetParam()), 8, 2);
  const PositionRange w = last_decode_steps(run, 25);
  EXPECT_EQ(w.begin, 160 - 25);  // one position per decode step
  const auto windowed = layer_routing_stats(run, 1, w);
  const auto explicit_range = layer_routing_stats(run, 1, {135, 160});
  EXPECT_EQ(windowed.load, explicit_range.load);
  EXPECT_DOUBLE_EQ(windowed.cv, explicit_range.cv);
}

TEST_P(RandomTraces, CoactivationRowsSumToK) {
  const int32_t K = GetParam() % 3 ? 2 : 4;
  const auto run = random_run(uint64_t(GetParam()), 8, K);
  for (int32_t l = 0; l < kLayers; ++l) {
    const Coactivation c = coactivation(run, l);
    for (int64_t i = 0; i < 8; ++i) {
      for (int64_t j = 0; j < 8; ++j) EXPECT_EQ(c.count(i, j), c.count(j, i));  // symmetric
      if (c.count(i, i) == 0) continue;
      double row = 0;
      for (int64_t j = 0; j < 8; ++j) {
        EXPECT_GE(c.p(i, j), 0.0);
        EXPECT_LE(c.p(i, j), 1.0);
        row += c.p(i, j);
      }
      EXPECT_DOUBLE_EQ(c.p(i, i), 1.0);
      EXPECT_NEAR(row, double(K), 1e-12);  // every token with i selects k experts, i among them
    }
  }
}

TEST_P(RandomTraces, ConsecutiveAndSpecialisationInRange) {
  const auto run = random_run(uint64_t(GetParam()), 8, 2);
  for (int32_t l = 0; l < kLayers; ++l) {
    const ConsecutiveRates c = consecutive_rates(run, l);
    EXPECT_GT(c.pairs, 0);
    EXPECT_GE(c.same_first, 0.0);
    EXPECT_LE(c.either, 1.0);
    EXPECT_GE(c.either, c.same_first);  // a shared first choice is a shared expert
    SpecialisationOptions all;
    all.top_n = 1000;
    const LayerRoutingStats s = layer_routing_stats(run, l);
    for (const ExpertTokens& e : expert_top_tokens(run, l, {}, all)) {
      EXPECT_EQ(e.routed, s.load[size_t(e.expert)]);
      int64_t counted = 0;
      for (const TokenCount& t : e.tokens) {
        counted += t.count;
        EXPECT_GT(t.share, 0.0);
        EXPECT_LE(t.share, 1.0);
      }
      EXPECT_EQ(counted, e.routed);
    }
    for (const TokenSpecialisation& t : token_specialisation(run, l, {}, 1)) {
      EXPECT_GE(t.share, 1.0 / 8 - 1e-12);  // the most frequent of 8 has at least 1/8
      EXPECT_LE(t.share, 1.0);
    }
  }
}

TEST_P(RandomTraces, StabilityOfARunWithItselfIsOne) {
  const auto run = random_run(uint64_t(GetParam()), 8, 2);
  const RoutingStability s = routing_stability(run, run);
  EXPECT_EQ(s.common_prefix, run.n_positions());
  for (const LayerStability& l : s.layers) {
    EXPECT_GT(l.positions, 0);
    EXPECT_DOUBLE_EQ(l.topk_overlap, 1.0);
    EXPECT_DOUBLE_EQ(l.top1_agreement, 1.0);
  }
  // Against a different random routing of the same tokens: in [0, 1].
  auto other = random_run(uint64_t(GetParam()), 8, 2);
  other.routing = random_run(uint64_t(GetParam()) + 100, 8, 2).routing;
  for (const LayerStability& l : routing_stability(run, other).layers) {
    EXPECT_GE(l.topk_overlap, 0.0);
    EXPECT_LE(l.topk_overlap, 1.0);
    EXPECT_LE(l.top1_agreement, 1.0);
  }
}

TEST_P(RandomTraces, HeadScoresInRangeAndRankingOrdered) {
  const auto run = random_run(uint64_t(GetParam()), 8, 2);
  const auto heads = head_metrics(run);
  ASSERT_EQ(heads.size(), size_t(kLayers * kHeads));
  for (const HeadMetrics& h : heads) {
    EXPECT_EQ(h.rows, 16 + 120);
    EXPECT_GE(h.entropy, 0.0);
    EXPECT_GE(h.entropy_norm, 0.0);
    EXPECT_LE(h.entropy_norm, 1.0 + 1e-3);  // f16 rounding of near-uniform rows
    for (double v : {h.sink, h.previous, h.duplicate, h.induction}) {
      EXPECT_GE(v, 0.0);
      EXPECT_LE(v, 1.0 + 1e-3);
    }
    EXPECT_GT(h.duplicate_rows, 0);
  }
  for (HeadMetric m : {HeadMetric::Entropy, HeadMetric::Sink, HeadMetric::Induction}) {
    const auto order = rank_heads(heads, m);
    for (size_t i = 1; i < order.size(); ++i)
      EXPECT_GE(metric_value(heads[order[i - 1]], m), metric_value(heads[order[i]], m));
  }
}

TEST_P(RandomTraces, OpPercentilesAreOrdered) {
  std::mt19937_64 rng{uint64_t(GetParam())};
  std::lognormal_distribution<double> ns(7.0, 0.8);
  auto run = test::crafted_run({1}, 1, 8, 2);
  const int32_t names[] = {run.intern("a"), run.intern("b"), run.intern("c")};
  const int32_t kind = run.intern("matmul");
  for (int i = 0; i < 3000; ++i) {
    storage::OpRecord op;
    op.name = names[i % 3];
    op.kind = kind;
    op.layer = i % 5;
    op.end_ns = int64_t(ns(rng)) + 1;
    op.bytes = 100;
    run.ops.push_back(op);
  }
  for (const OpGroup& g : op_stats(run, OpGrouping::NameLayer)) {
    const Summary& t = g.time_ns;
    EXPECT_LE(t.min, t.p50);
    EXPECT_LE(t.p50, t.p90);
    EXPECT_LE(t.p90, t.p99);
    EXPECT_LE(t.p99, t.max);
    EXPECT_GE(t.cv, 0.0);
    EXPECT_NEAR(t.mean * double(t.count), t.total, 1e-6 * t.total);
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomTraces, ::testing::Range(1, 9));

}  // namespace
}  // namespace moescope::inspectors
