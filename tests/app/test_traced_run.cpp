// A recorded run, in process: tracing does not change what the engine generates; the file holds
// every token with its routing in every layer (the experts the engine actually used), the op
// timings and the budgeted attention maps; the live TraceModel and the file agree.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "engine/model/load_model.h"
#include "engine/session/traced_run.h"
#include "storage/trace_file.h"
#include "storage/trace_model.h"
#include "storage/trace_writer.h"
#include "tests/common/test_paths.h"
#include "tests/common/tolerance.h"
#include "tests/engine/routing_recorder.h"

namespace moescope {
namespace {

class TracedRun : public ::testing::Test {
 protected:
  void SetUp() override { m_ = load_model(test::assets_dir() + "/tiny-grok1-random", true); }

  RunRequest request(int64_t max_tokens) const {
    RunRequest r;
    r.prompt = "And God said, Let there be light: and there was light.";
    r.generation.max_tokens = max_tokens;
    r.model_name = "tiny-grok1-random";
    return r;
  }

  LoadedModel m_;
};

TEST_F(TracedRun, RecordsEveryTokenAndRoutingWithoutChangingTheOutput) {
  const int64_t G = 24;
  // Untraced greedy reference.
  Model plain(m_.config, m_.weights, 2);
  const std::vector<int32_t> prompt = m_.tokenizer->encode(request(G).prompt);
  KvCache cache(m_.config, int64_t(prompt.size()) + G);
  GenerationOptions opt;
  opt.max_tokens = G;
  std::vector<int32_t> untraced;
  generate(plain, cache, prompt, opt, [&](const GeneratedToken& t) {
    untraced.push_back(t.choice.id);
    return true;
  });

  // Traced, into a file and a live model.
  const std::string path = test::make_temp_dir("traced") + "/run.db";
  storage::TraceModel live;
  storage::WriterOptions wo;
  wo.model = &live;
  auto writer = storage::TraceWriter::open(path, wo);
  trace::CaptureSettings cap;
  cap.attention = true;
  cap.attention_layers = {1};
  cap.attention_heads = {0, 5};
  trace::Tracer tracer(writer.get(), cap);
  Model model(m_.config, m_.weights, 2);
  RunOutcome out = traced_generate(model, *m_.tokenizer, request(G), tracer);
  writer->flush();
  EXPECT_EQ(out.status, trace::RunStatus::Complete);
  EXPECT_EQ(out.generated_ids, untraced) << "tracing changed the generated tokens";
  EXPECT_EQ(writer->stats().dropped.total(), 0);
  EXPECT_EQ(writer->error(), "");

  auto file = storage::TraceFile::open(path);
  storage::RunData run = file->load(out.run_id);
  const int64_t P = int64_t(prompt.size()), N = P + G, L = m_.config.n_layers;
  ASSERT_EQ(run.n_positions(), N);
  EXPECT_EQ(run.prompt_tokens(), P);
  EXPECT_EQ(run.generated_tokens(), G);
  EXPECT_EQ(run.status, trace::RunStatus::Complete);
  for (int64_t p = 0; p < N; ++p) {
    EXPECT_EQ(run.tokens[size_t(p)].id, p < P ? prompt[size_t(p)] : untraced[size_t(p - P)]);
    EXPECT_EQ(std::isnan(run.tokens[size_t(p)].logprob), p == 0) << "position " << p;
  }

  // Routing: tokens x layers decisions, equal to an independent untraced forward of the sequence.
  std::vector<int32_t> sequence = prompt;
  sequence.insert(sequence.end(), untraced.begin(), untraced.end());
  test::RoutingRecorder reference(L, m_.config.n_experts, m_.config.top_k);
  Model check(m_.config, m_.weights, 1);
  KvCache c2(m_.config, N);
  std::vector<float> logits(size_t(N * m_.config.vocab_size));
  check.forward(sequence, c2, logits.data(), true, reference.tracer());
  ASSERT_EQ(int64_t(run.routing.size()), L);
  int64_t rows = 0;
  const int64_t E = m_.config.n_experts, K = m_.config.top_k;
  for (int64_t l = 0; l < L; ++l) {
    const storage::LayerRouting& r = run.routing[size_t(l)];
    for (int64_t p = 0; p < N; ++p) {
      ASSERT_TRUE(r.present[size_t(p)]) << "layer " << l << " position " << p;
      ++rows;
      std::set<int32_t> got(r.ids.begin() + p * K, r.ids.begin() + (p + 1) * K);
      const auto& want_ids = reference.ids();
      std::set<int32_t> want(want_ids.begin() + (l * N + p) * K,
                             want_ids.begin() + (l * N + p + 1) * K);
      EXPECT_EQ(got, want) << "layer " << l << " position " << p;
    }
    EXPECT_TRUE(test::all_close(r.probs.data(), reference.probs().data() + l * N * E, size_t(N * E),
                                test::tolerance_for(kernels::DType::F32, test::Level::Model),
                                "router probabilities"));
  }
  EXPECT_EQ(rows, N * L);

  // Ops: every layer's ops, well-formed.
  ASSERT_FALSE(run.ops.empty());
  std::set<int32_t> layers;
  for (const auto& op : run.ops) {
    EXPECT_GE(op.end_ns, op.start_ns);
    EXPECT_GT(op.bytes, 0) << run.strings[size_t(op.name)];
    layers.insert(op.layer);
  }
  EXPECT_EQ(layers.size(), size_t(L + 1));  // every layer, and -1 for embedding and output

  // Attention: layer 1, heads 0 and 5 only; the prefill map whole, then one row per decode step.
  ASSERT_FALSE(run.attention.empty());
  for (const auto& a : run.attention) {
    EXPECT_EQ(a.layer, 1);
    EXPECT_TRUE(a.head == 0 || a.head == 5);
    EXPECT_EQ(a.kv_head, a.head / int32_t(m_.config.gqa_group()));
    EXPECT_EQ(a.n_queries, a.step == 0 ? P : 1);
    for (int32_t q = 0; q < a.n_queries; ++q) {
      double sum = 0;
      for (int64_t s = 0; s < a.n_keys; ++s) sum += a.at(q, s);
      EXPECT_NEAR(sum, 1.0, 5e-3);  // f16 storage
      for (int64_t s = a.q0 + q + 1; s < a.n_keys; ++s) EXPECT_EQ(a.at(q, s), 0.0f) << "future key";
    }
  }
  EXPECT_EQ(int64_t(run.attention.size()), 2 * (G + 1));  // prefill + G steps (incl. the last)

  // The live model saw the same run.
  live.read(out.run_id, [&](const storage::RunData& l) {
    EXPECT_EQ(l.n_positions(), run.n_positions());
    EXPECT_EQ(l.ops.size(), run.ops.size());
    EXPECT_EQ(l.attention.size(), run.attention.size());
    EXPECT_EQ(l.routing[0].ids, run.routing[0].ids);
  });
}

TEST_F(TracedRun, RoutingOffRecordsTokensOnly) {
  const std::string path = test::make_temp_dir("traced-off") + "/run.db";
  auto writer = storage::TraceWriter::open(path, {});
  trace::CaptureSettings cap;
  cap.routing = cap.ops = false;
  cap.prompt_logprobs = false;
  trace::Tracer tracer(writer.get(), cap);
  Model model(m_.config, m_.weights, 1);
  RunOutcome out = traced_generate(model, *m_.tokenizer, request(5), tracer);
  writer->flush();
  storage::RunData run = storage::TraceFile::open(path)->load(out.run_id);
  EXPECT_EQ(run.generated_tokens(), 5);
  EXPECT_TRUE(run.ops.empty());
  for (const auto& r : run.routing)
    for (uint8_t present : r.present) EXPECT_EQ(present, 0);
}

}  // namespace
}  // namespace moescope
