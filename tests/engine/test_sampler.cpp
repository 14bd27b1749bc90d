// Sampling: greedy is argmax with ties to the lower id; filters restrict the support; a seed
// reproduces a run; empirical frequencies follow the tempered distribution; reported
// log-probabilities are those of the untempered model.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

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
