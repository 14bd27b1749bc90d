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
  // Top-n in one pass: an insertion into the n best so far (strictly greater moves up, so ties
  // keep the lower id first).
  c.n_top = int(std::min<int64_t>(TokenChoice::kTop, vocab));
  int found = 0;
  for (int64_t i = 0; i < vocab; ++i) {
    if (found == c.n_top && !(logits[i] > logits[c.top_ids[size_t(found - 1)]])) continue;
    int r = found < c.n_top ? found++ : found - 1;
    for (; r > 0 && logits[i] > logits[c.top_ids[size_t(r - 1)]]; --r)
      c.top_ids[size_t(r)] = c.top_ids[size_t(r - 1)];
    c.top_ids[size_t(r)] = int32_t(i);
  }
  for (int r = 0; r < c.n_top; ++r)
    c.top_logprobs[size_t(r)] = float(double(logits[c.top_ids[size_t(r)]]) - log_z);
  return c;
}

int32_t Sampler::draw(const float* logits, int64_t vocab) {
  if (params_.temperature == 0.0f) {
    int32_t best = 0;
    for (int64_t i = 1; i < vocab; ++i)
      if (logits[i] > logits[best]) best = int32_t(i);
    return best;
  }
  // Candidates by logit (descending, ties to the lower id), then filtered. Only as many are put
  // in order as top-k and the nucleus need: a full sort of the vocabulary at every token cost a
  // small model more than its forward pass.
  scratch_.resize(size_t(vocab));
  for (int64_t i = 0; i < vocab; ++i) scratch_[size_t(i)] = {logits[i], int32_t(i)};
  auto by_logit = [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  const double inv_t = 1.0 / double(params_.temperature);
  float top = logits[0];
  for (int64_t i = 1; i < vocab; ++i) top = std::max(top, logits[i]);
  auto weight = [&](float l) { return std::exp((double(l) - double(top)) * inv_t); };
  size_t n = size_t(vocab);
  double total = 0;  // the tempered weight of every candidate
  if (params_.top_k > 0 && size_t(params_.top_k) < n) {
    n = size_t(params_.top_k);
    std::partial_sort(scratch_.begin(), scratch_.begin() + ptrdiff_t(n), scratch_.end(), by_logit);
    for (size_t i = 0; i < n; ++i) total += weight(scratch_[i].first);
  } else {
    for (int64_t i = 0; i < vocab; ++i) total += weight(logits[i]);
  }
  // Nucleus: the smallest prefix in logit order whose probability reaches top_p. The prefix is
  // ordered in growing steps until it does (usually the first).
  if (params_.top_p < 1.0f) {
    const size_t candidates = n;
    size_t ordered = params_.top_k > 0 ? n : 0, scanned = 0, keep = 0;
    double cum = 0;
    for (size_t step = 64; keep == 0; step *= 4) {
      const size_t m = std::min(candidates, std::max(step, ordered));
      if (m > ordered) {  // the next best of the rest, after the ordered ones
        std::partial_sort(scratch_.begin() + ptrdiff_t(ordered), scratch_.begin() + ptrdiff_t(m),
                          scratch_.begin() + ptrdiff_t(candidates), by_logit);
        ordered = m;
      }
      for (; scanned < m && keep == 0; ++scanned) {
        cum += weight(scratch_[scanned].first) / total;
        if (cum >= params_.top_p) keep = scanned + 1;
      }
      if (keep == 0 && m == candidates) keep = candidates;
    }
    n = keep;
  }
  // Tempered probabilities of the remaining candidates (in index order when nothing filtered:
  // the draw's distribution does not depend on the order).
  std::vector<double> p(n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += p[i] = weight(scratch_[i].first);
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
