// Tensor and expert parallelism on the CPU communicator: TP = 2 and 4 (KV heads replicated at
// 4), EP = 2, 4 and 8 (and an uneven placement), and TP = 2 x EP = 2 give the logits of the
// unsharded model within a relative L2 of 1e-5 (f32 compute), the same greedy tokens and the
// same routing, on every architecture and weight format we ship fixtures for
// (bf16 Grok-1, Grok-2 with its shared MLP and soft-caps, f32 Mixtral, int8 Grok-1 with group
// scales split between ranks).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "engine/core/error.h"
#include "engine/model/load_model.h"
#include "engine/model/model.h"
#include "engine/parallel/layout.h"
#include "engine/parallel/sharded_model.h"
#include "tests/common/expect_error.h"
#include "tests/common/test_paths.h"
#include "tests/engine/routing_recorder.h"

namespace moescope::parallel {
namespace {

double relative_l2(const std::vector<float>& got, const std::vector<float>& want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    num += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    den += double(want[i]) * want[i];
  }
  return std::sqrt(num / den);
}

int32_t argmax(const float* v, int64_t n) {
  return int32_t(std::max_element(v, v + n) - v);
}

struct Outputs {
  std::vector<float> prefill_logits;  // [T, V]
  std::vector<int32_t> greedy;
  std::vector<int32_t> routing_ids;  // the prefill's [L, T, K]
};

constexpr int64_t kPrompt = 20, kSteps = 6;

// forward(tokens, logits, all_logits, tracer) of either model.
template <typename Forward>
Outputs run(const ModelConfig& c, const std::vector<int32_t>& prompt, Forward forward) {
  Outputs r;
  test::RoutingRecorder routing(c.n_layers, c.n_experts, c.top_k);
  r.prefill_logits.resize(size_t(kPrompt * c.vocab_size));
  forward(prompt, r.prefill_logits.data(), true, routing.tracer());
  r.routing_ids = routing.ids();
  int32_t next = argmax(r.prefill_logits.data() + (kPrompt - 1) * c.vocab_size, c.vocab_size);
  std::vector<float> logits(size_t(c.vocab_size));
  for (int64_t s = 0; s < kSteps; ++s) {
    r.greedy.push_back(next);
    forward(std::vector<int32_t>{next}, logits.data(), false, static_cast<trace::Tracer*>(nullptr));
    next = argmax(logits.data(), c.vocab_size);
  }
  return r;
}

class Sharded : public ::testing::TestWithParam<const char*> {};

TEST_P(Sharded, MatchesTheUnshardedModel) {
  LoadedModel m = load_model(test::source_dir() + "/" + GetParam(), false);
  const ModelConfig& c = m.config;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> pick(4, int32_t(c.vocab_size - 1));
  std::vector<int32_t> prompt(kPrompt);
  for (auto& id : prompt) id = pick(rng);

  Model whole(c, m.weights, 1);
  KvCache cache(c, kPrompt + kSteps);
  const Outputs want =
      run(c, prompt, [&](std::vector<int32_t> t, float* l, bool all, trace::Tracer* tr) {
        whole.forward(t, cache, l, all, tr);
      });

  int tested = 0;
  // TP, EP (contiguous, and an uneven explicit placement), and both composed.
  std::vector<int> uneven(size_t(c.n_experts), 0);
  uneven.back() = 1;  // group 0 holds all experts but the last
  const ParallelLayout layouts[] = {{2, 1, {}}, {4, 1, {}},     {1, 2, {}}, {1, 4, {}},
                                    {1, 8, {}}, {1, 2, uneven}, {2, 2, {}}};
  for (ParallelLayout layout : layouts) {
    try {
      validate_layout(c, layout);
    } catch (const Error&) {
      continue;  // this model's sizes do not split this way
    }
    SCOPED_TRACE("tp " + std::to_string(layout.tp) + " x ep " + std::to_string(layout.ep));
    ShardedModel sharded(c, m.weights, layout, 1, kPrompt + kSteps);
    const Outputs got =
        run(c, prompt, [&](std::vector<int32_t> t, float* l, bool all, trace::Tracer* tr) {
          sharded.forward(t, l, all, tr);
        });
    EXPECT_LT(relative_l2(got.prefill_logits, want.prefill_logits), 1e-5);
    EXPECT_EQ(got.greedy, want.greedy);
    EXPECT_EQ(got.routing_ids, want.routing_ids);
    ++tested;
  }
  EXPECT_GE(tested, 5);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Sharded,
                         ::testing::Values("assets/tiny-grok1-random",
                                           "tests/reference/fixtures/tiny-grok2",
                                           "tests/reference/fixtures/tiny-mixtral",
                                           "tests/reference/fixtures/ckpt0-tiny-st"),
                         [](const auto& info) {
                           std::string name = info.param;
                           name = name.substr(name.rfind('/') + 1);
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST(ShardedLayout, RefusedBeforeAnythingIsAllocated) {
  LoadedModel m = load_model(test::source_dir() + "/assets/tiny-grok1-random", false);
  test::expect_error(
      [&] {
        ShardedModel(m.config, m.weights, {3, 1, {}}, 1, 16);
      },
      {"--tp 3", "8 query heads"});
  test::expect_error(
      [&] {
        ShardedModel(m.config, m.weights, {1, 3, {}}, 1, 16);
      },
      {"--ep 3", "8 experts"});
}

}  // namespace
}  // namespace moescope::parallel
