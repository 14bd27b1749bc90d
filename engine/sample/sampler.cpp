#include "engine/sample/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/core/error.h"

namespace moescope {

void SamplingParams::validate() const {
  if (!(temperature >= 0.0f) || !std::isfinite(temperature))
    fail("--temperature is ", temperature, ", expected a finite value >= 0 (0 = greedy)");
  if (top_k < 0) fail("--top-k is ", top_k, ", expected >= 0 (0 = off)");
  if (!(top_p > 0.0f && top_p <= 1.0f)) fail("--top-p is ", top_p, ", expected in (0, 1]");
}

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {
  params_.validate();
}

TokenChoice describe_choice(const float* logits, int64_t vocab, int32_t id) {
  double max = -std::numeric_limits<double>::infinity();
  for (int64_t i = 0; i < vocab; ++i) max = std::max(max, double(logits[i]));
  double sum = 0;
  for (int64_t i = 0; i < vocab; ++i) sum += std::exp(double(logits[i]) - max);
  const double log_z = max + std::log(sum);

  TokenChoice c;
  c.id = id;
  c.logprob = float(double(logits[id]) - log_z);
  // Top-n by a partial selection: n is tiny, so n passes over the logits are cheapest.
  c.n_top = int(std::min<int64_t>(TokenChoice::kTop, vocab));
  for (int r = 0; r < c.n_top; ++r) {
    int32_t best = -1;
    for (int64_t i = 0; i < vocab; ++i) {
      bool taken = false;
      for (int q = 0; q < r; ++q) taken |= c.top_ids[size_t(q)] == i;
      if (!taken && (best < 0 || logits[i] > logits[best])) best = int32_t(i);
    }
    c.top_ids[size_t(r)] = best;
    c.top_logprobs[size_t(r)] = float(double(logits[best]) - log_z);
  }
  return c;
}

int32_t Sampler::draw(const float* logits, int64_t vocab) {
  if (params_.temperature == 0.0f) {
    int32_t best = 0;
    for (int64_t i = 1; i < vocab; ++i)
      if (logits[i] > logits[best]) best = int32_t(i);
    return best;
  }
  // Candidates sorted by logit (descending, ties to the lower id), then filtered.
  scratch_.resize(size_t(vocab));
  for (int64_t i = 0; i < vocab; ++i) scratch_[size_t(i)] = {logits[i], int32_t(i)};
  auto by_logit = [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  size_t n = size_t(vocab);
  if (params_.top_k > 0 && size_t(params_.top_k) < n) {
    std::partial_sort(scratch_.begin(), scratch_.begin() + params_.top_k, scratch_.end(), by_logit);
    n = size_t(params_.top_k);
  } else {
    std::sort(scratch_.begin(), scratch_.end(), by_logit);
  }
  // Tempered probabilities of the remaining candidates.
  const double inv_t = 1.0 / double(params_.temperature), top = scratch_[0].first;
  std::vector<double> p(n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += p[i] = std::exp((scratch_[i].first - top) * inv_t);
  // Nucleus: the smallest prefix whose probability reaches top_p.
  if (params_.top_p < 1.0f) {
    double cum = 0;
    size_t keep = n;
    for (size_t i = 0; i < n; ++i) {
      cum += p[i] / sum;
      if (cum >= params_.top_p) {
        keep = i + 1;
        break;
      }
    }
    n = keep;
    sum = 0;
    for (size_t i = 0; i < n; ++i) sum += p[i];
  }
  std::uniform_real_distribution<double> uniform(0.0, sum);
  double u = uniform(rng_), cum = 0;
  for (size_t i = 0; i < n; ++i) {
    cum += p[i];
    if (u < cum) return scratch_[i].second;
  }
  return scratch_[n - 1].second;
}

TokenChoice Sampler::sample(const float* logits, int64_t vocab) {
  return describe_choice(logits, vocab, draw(logits, vocab));
}

}  // namespace moescope
