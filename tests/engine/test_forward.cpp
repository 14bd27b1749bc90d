// Forward-pass invariants on tiny random models of each family: prefill, chunked prefill and
// token-by-token decode through the KV cache give the same logits and routing; Grok-1's padding
// mask makes a left pad invisible; bad calls fail with clear errors.
#include <gtest/gtest.h>

#include "engine/core/error.h"
#include "engine/model/model.h"
#include "engine/weights/checkpoint.h"
#include "tests/common/test_paths.h"
#include "tests/common/tiny_checkpoint.h"
#include "tests/common/tolerance.h"
#include "tests/engine/routing_recorder.h"

namespace moescope {
namespace {

using kernels::DType;

struct TinyModel {
  ModelConfig config;
  std::shared_ptr<const ModelWeights> weights;
};

TinyModel make_model(Arch arch, NamingScheme scheme, uint64_t seed) {
  TinyModel m{test::tiny_config(arch), nullptr};
  const std::string dir = test::make_temp_dir("fwd");
  test::write_checkpoint(dir, m.config, test::random_weights(m.config, scheme, seed));
  m.weights = ModelWeights::load(Checkpoint::open(dir), m.config);
  return m;
}

const std::vector<int32_t> kIds = {4, 19, 77, 3, 3, 50, 21, 8, 90, 11, 64, 30, 7};

// Logits [T, V] of kIds fed in chunks of the given sizes (0 = the rest).
std::vector<float> run_chunked(const TinyModel& m, const std::vector<int64_t>& chunks,
                               test::RoutingRecorder* probe, int threads) {
  Model model(m.config, m.weights, threads);
  KvCache cache(m.config, int64_t(kIds.size()));
  const int64_t V = m.config.vocab_size;
  std::vector<float> out(kIds.size() * size_t(V));
  size_t at = 0;
  for (size_t i = 0; at < kIds.size(); ++i) {
    size_t n = i < chunks.size() && chunks[i] > 0 ? size_t(chunks[i]) : kIds.size() - at;
    n = std::min(n, kIds.size() - at);
    model.forward(std::span<const int32_t>(kIds.data() + at, n), cache, out.data() + at * V, true,
                  probe ? probe->tracer() : nullptr);
    at += n;
  }
  EXPECT_EQ(cache.length(), int64_t(kIds.size()));
  return out;
}

class ForwardConsistency : public ::testing::TestWithParam<std::pair<Arch, NamingScheme>> {};

TEST_P(ForwardConsistency, PrefillChunkedAndDecodeAgree) {
  const TinyModel m = make_model(GetParam().first, GetParam().second, 11);
  const ModelConfig& c = m.config;
  test::RoutingRecorder r_full(c.n_layers, c.n_experts, c.top_k),
      r_step(c.n_layers, c.n_experts, c.top_k);
  const auto full = run_chunked(m, {0}, &r_full, 1);
  const auto chunked = run_chunked(m, {3, 5, 0}, nullptr, 2);
  std::vector<int64_t> ones(kIds.size(), 1);
  const auto stepwise = run_chunked(m, ones, &r_step, 3);
  const auto tol = test::tolerance_for(DType::F32, test::Level::Model);
  EXPECT_TRUE(test::all_close(chunked.data(), full.data(), full.size(), tol, "chunked vs prefill"));
  EXPECT_TRUE(test::all_close(stepwise.data(), full.data(), full.size(), tol, "decode vs prefill"));
  EXPECT_TRUE(test::all_close(r_step.probs().data(), r_full.probs().data(), r_full.probs().size(),
                              tol, "router probabilities"));
}

INSTANTIATE_TEST_SUITE_P(Families, ForwardConsistency,
                         ::testing::Values(std::pair{Arch::Grok1, NamingScheme::HpcaiGrok1},
                                           std::pair{Arch::Grok2, NamingScheme::SglangGrok},
                                           std::pair{Arch::Mixtral, NamingScheme::Mixtral}));

// Keeps the op events (name, expert, stream) in the order the engine sends them.
class OpRecorder : public trace::TraceSink {
 public:
  struct Op {
    std::string name;
    int32_t expert, stream;
  };
  OpRecorder() : tracer_(this, trace::CaptureSettings{}) {}
  trace::Tracer* tracer() { return &tracer_; }
  int64_t begin_run(const trace::RunInfo&) override { return 1; }
  void end_run(int64_t, trace::RunStatus, int64_t, const std::string&) override {}
  void token(int64_t, const trace::TokenEvent&) override {}
  void attention(int64_t, const trace::AttentionBlock&) override {}
  void routing(int64_t, const trace::RoutingBlock&) override {}
  void op(int64_t, const trace::OpEvent& e) override {
    ops.push_back({e.site->name, e.expert, e.stream});
  }
  std::vector<Op> ops;

 private:
  trace::Tracer tracer_;
};

// Decode steps run the active experts side by side, one whole FFN per thread: the logits are the
// very bits of the one-thread run (a matmul's result does not depend on how many threads share
// it), and every expert's ops reach the trace, in order, before its combine, on the stream of
// the thread that ran it.
TEST(Forward, SideBySideExpertsChangeNoBitAndTraceEveryOp) {
  for (const auto& [arch, scheme] : {std::pair{Arch::Grok1, NamingScheme::HpcaiGrok1},
                                     std::pair{Arch::Mixtral, NamingScheme::Mixtral}}) {
    const TinyModel m = make_model(arch, scheme, 13);
    std::vector<int64_t> ones(kIds.size(), 1);
    EXPECT_EQ(run_chunked(m, ones, nullptr, 1), run_chunked(m, ones, nullptr, 3));

    OpRecorder rec;
    Model model(m.config, m.weights, 3);
    KvCache cache(m.config, 4);
    std::vector<float> logits(size_t(m.config.vocab_size));
    const int32_t id = 5;
    model.forward(std::span<const int32_t>(&id, 1), cache, logits.data(), true, rec.tracer());
    int64_t experts = 0;
    for (size_t i = 0; i < rec.ops.size(); ++i) {
      if (rec.ops[i].name != "moe.expert.gate_up_proj") continue;
      ++experts;
      ASSERT_LT(i + 3, rec.ops.size());
      EXPECT_EQ(rec.ops[i + 1].name, "moe.expert.act");
      EXPECT_EQ(rec.ops[i + 2].name, "moe.expert.down_proj");
      EXPECT_EQ(rec.ops[i + 3].name, "moe.combine");
      for (size_t j = i; j < i + 4; ++j) EXPECT_EQ(rec.ops[j].expert, rec.ops[i].expert);
      for (size_t j = i; j < i + 3; ++j) {
        EXPECT_GE(rec.ops[j].stream, 0);
        EXPECT_LT(rec.ops[j].stream, 3);
      }
    }
    EXPECT_EQ(experts, m.config.n_layers * m.config.top_k);
  }
}

// Grok-1 masks keys whose token is [PAD] (id 0). RoPE scores depend only on relative positions,
// so with the pad masked, [PAD, a, b, ...] must give the logits of [a, b, ...] shifted by one.
TEST(Forward, LeftPadIsInvisibleUnderGrok1Masking) {
  const TinyModel m = make_model(Arch::Grok1, NamingScheme::HpcaiGrok1, 5);
  const int64_t V = m.config.vocab_size;
  std::vector<int32_t> plain(kIds.begin(), kIds.end()), padded = {0};
  padded.insert(padded.end(), kIds.begin(), kIds.end());
  auto logits_of = [&](const std::vector<int32_t>& ids, const ModelConfig& c) {
    Model model(c, m.weights, 2);
    KvCache cache(c, int64_t(ids.size()));
    std::vector<float> out(ids.size() * size_t(V));
    model.forward(ids, cache, out.data(), true);
    return out;
  };
  const auto a = logits_of(plain, m.config), b = logits_of(padded, m.config);
  EXPECT_TRUE(test::all_close(b.data() + V, a.data(), a.size(),
                              test::tolerance_for(DType::F32, test::Level::Model), "padded"));
  // Without the mask the pad is attended to, and the logits change.
  ModelConfig unmasked = m.config;
  unmasked.mask_pad_keys = false;
  const auto u = logits_of(padded, unmasked);
  EXPECT_FALSE(test::all_close(u.data() + V, a.data(), a.size(),
                               test::tolerance_for(DType::F32, test::Level::Model), "unmasked"));
}

TEST(Forward, ContextFullAndBadIdsAreErrors) {
  const TinyModel m = make_model(Arch::Grok1, NamingScheme::HpcaiGrok1, 5);
  Model model(m.config, m.weights, 1);
  KvCache cache(m.config, 4);
  std::vector<float> logits(size_t(m.config.vocab_size * 8));
  const std::vector<int32_t> five = {1, 2, 3, 4, 5};
  try {
    model.forward(five, cache, logits.data(), true);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("context full"), std::string::npos) << e.what();
  }
  const std::vector<int32_t> bad = {1, 96};
  try {
    model.forward(bad, cache, logits.data(), true);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("token id 96"), std::string::npos) << e.what();
  }
  EXPECT_EQ(cache.length(), 0);  // nothing was appended by the failed calls
  EXPECT_THROW(KvCache(m.config, m.config.max_seq_len + 1), Error);
}

}  // namespace
}  // namespace moescope
