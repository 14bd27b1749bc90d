// Choosing the next token from logits: greedy, or temperature with top-k and top-p (nucleus)
// filtering, reproducible from a seed. Also reports what a trace records for every token: its
// log-probability and the top alternatives under the model's own (untempered) distribution.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace moescope {

struct SamplingParams {
  float temperature = 0.0f;  // 0 = greedy (argmax; ties go to the lower id)
  int64_t top_k = 0;         // 0 = off
  float top_p = 1.0f;        // 1 = off
  uint64_t seed = 42;

  // Throws moescope::Error naming the parameter when out of range.
  void validate() const;
};

struct TokenChoice {
  static constexpr int kTop = 5;
  int32_t id = -1;
  float logprob = 0.0f;  // log softmax(logits)[id]
  int n_top = 0;
  std::array<int32_t, kTop> top_ids{};
  std::array<float, kTop> top_logprobs{};
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);
  // logits [V]. Not thread-safe (owns the random generator and scratch).
  TokenChoice sample(const float* logits, int64_t vocab);

 private:
  int32_t draw(const float* logits, int64_t vocab);

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int32_t>> scratch_;
};

// log softmax(logits)[id] and the top-n ids, computed in double for stability.
TokenChoice describe_choice(const float* logits, int64_t vocab, int32_t id);

}  // namespace moescope
