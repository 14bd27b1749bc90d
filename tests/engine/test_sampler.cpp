// Sampling: greedy is argmax with ties to the lower id; filters restrict the support; a seed
// reproduces a run; empirical frequencies follow the tempered distribution; reported
// log-probabilities are those of the untempered model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "engine/core/error.h"
#include "engine/sample/sampler.h"

namespace moescope {
namespace {

const std::vector<float> kLogits = {1.0f, 3.0f, 3.0f, -2.0f, 0.5f, 2.5f, -1.0f, 0.0f};

TEST(Sampler, GreedyIsArgmaxWithTiesToLowerId) {
  Sampler s(SamplingParams{});
  TokenChoice c = s.sample(kLogits.data(), int64_t(kLogits.size()));
  EXPECT_EQ(c.id, 1);
  EXPECT_EQ(c.top_ids[0], 1);
  EXPECT_EQ(c.top_ids[1], 2);
  EXPECT_EQ(c.top_ids[2], 5);
  EXPECT_EQ(c.n_top, 5);
}

TEST(Sampler, LogprobIsLogSoftmax) {
  double z = 0;
  for (float v : kLogits) z += std::exp(double(v));
  TokenChoice c = describe_choice(kLogits.data(), int64_t(kLogits.size()), 4);
  EXPECT_NEAR(c.logprob, 0.5 - std::log(z), 1e-6);
  EXPECT_NEAR(c.top_logprobs[0], 3.0 - std::log(z), 1e-6);
  for (int i = 1; i < c.n_top; ++i)
    EXPECT_LE(c.top_logprobs[size_t(i)], c.top_logprobs[size_t(i - 1)]);
}

std::map<int32_t, int> histogram(const SamplingParams& p, int draws) {
  Sampler s(p);
  std::map<int32_t, int> h;
  for (int i = 0; i < draws; ++i) ++h[s.sample(kLogits.data(), int64_t(kLogits.size())).id];
  return h;
}

TEST(Sampler, FrequenciesFollowTheTemperedDistribution) {
  SamplingParams p;
  p.temperature = 2.0f;
  p.seed = 7;
  const int n = 40000;
  auto h = histogram(p, n);
  double z = 0;
  for (float v : kLogits) z += std::exp(double(v) / 2.0);
  for (int32_t id = 0; id < int32_t(kLogits.size()); ++id) {
    const double expect = std::exp(double(kLogits[size_t(id)]) / 2.0) / z;
    const double sd = std::sqrt(expect * (1 - expect) / n);
    EXPECT_NEAR(double(h[id]) / n, expect, 5 * sd + 1e-4) << "token " << id;
  }
}

TEST(Sampler, TopKRestrictsTheSupport) {
  SamplingParams p;
  p.temperature = 5.0f;  // nearly flat, so every survivor is drawn
  p.top_k = 3;
  auto h = histogram(p, 3000);
  EXPECT_EQ(h.size(), 3u);
  EXPECT_TRUE(h.count(1) && h.count(2) && h.count(5));
}

TEST(Sampler, TopPKeepsTheSmallestNucleus) {
  SamplingParams p;
  p.temperature = 1.0f;
  // Probabilities: ids 1 and 2 hold ~0.345 each, id 5 ~0.21: top_p 0.5 keeps exactly {1, 2}.
  p.top_p = 0.5f;
  auto h = histogram(p, 3000);
  EXPECT_EQ(h.size(), 2u);
  EXPECT_TRUE(h.count(1) && h.count(2));
  p.top_p = 0.01f;  // only the most likely token
  EXPECT_EQ(histogram(p, 200).size(), 1u);
}

// A vocabulary-sized distribution whose nucleus spans several of the sampler's ordering steps
// (64, 256, 1024 candidates): the support is exactly the smallest prefix in logit order that
// reaches top_p (found here by a full sort), with or without top-k first; top-5 as a full sort
// gives it, with ties to the lower id.
TEST(Sampler, TopPOverALargeVocabulary) {
  const int64_t V = 5000;
  std::vector<float> logits(static_cast<size_t>(V));
  for (int64_t i = 0; i < V; ++i) logits[size_t(i)] = float((i * 7919) % 1000) / 150.0f;
  for (int top_k : {0, 3000})
    for (float top_p : {0.3f, 0.8f, 0.995f}) {
      SCOPED_TRACE(testing::Message() << "top_k " << top_k << " top_p " << top_p);
      std::vector<std::pair<float, int32_t>> order;
      for (int64_t i = 0; i < V; ++i) order.push_back({logits[size_t(i)], int32_t(i)});
      std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
      });
      const size_t candidates = top_k > 0 ? size_t(top_k) : size_t(V);
      double total = 0, cum = 0;
      for (size_t i = 0; i < candidates; ++i) total += std::exp(double(order[i].first) - 6.66);
      size_t keep = candidates;
      for (size_t i = 0; i < candidates; ++i) {
        cum += std::exp(double(order[i].first) - 6.66) / total;
        if (cum >= top_p) {
          keep = i + 1;
          break;
        }
      }
      ASSERT_GT(keep, 64u);  // past the first ordering step
      std::set<int32_t> nucleus;
      for (size_t i = 0; i < keep; ++i) nucleus.insert(order[i].second);
      SamplingParams p;
      p.temperature = 1.0f;
      p.top_k = top_k;
      p.top_p = top_p;
      p.seed = 9;
      Sampler s(p);
      std::set<int32_t> seen;
      for (int d = 0; d < 500; ++d) {
        const TokenChoice c = s.sample(logits.data(), V);
        ASSERT_TRUE(nucleus.count(c.id)) << "token " << c.id << " outside the nucleus of " << keep;
        seen.insert(c.id);
        if (d == 0) {
          for (int r = 0; r < c.n_top; ++r) {
            EXPECT_EQ(c.top_ids[size_t(r)], order[size_t(r)].second);
          }
        }
      }
      // Drawn from all of it, not a smaller prefix: the nucleus' last-ranked tenth appears.
      int tail = 0;
      for (size_t i = keep - keep / 10; i < keep; ++i) tail += seen.count(order[i].second);
      EXPECT_GT(tail, 0);
    }
}

TEST(Sampler, SeedReproducesAndDiffers) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.seed = 3;
  Sampler a(p), b(p);
  p.seed = 4;
  Sampler d(p);
  int same = 0;
  for (int i = 0; i < 200; ++i) {
    int32_t x = a.sample(kLogits.data(), 8).id;
    EXPECT_EQ(x, b.sample(kLogits.data(), 8).id);
    same += x == d.sample(kLogits.data(), 8).id;
  }
  EXPECT_LT(same, 200);
}

TEST(Sampler, BadParametersAreNamed) {
  SamplingParams p;
  p.temperature = -1;
  EXPECT_THROW(p.validate(), Error);
  p = {};
  p.top_p = 0;
  try {
    p.validate();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--top-p"), std::string::npos);
  }
  p = {};
  p.top_k = -2;
  EXPECT_THROW(Sampler{p}, Error);
}

}  // namespace
}  // namespace moescope
