// route against route_ref for Grok (E = 8, K = 2) and wider (E = 16, K = 4) routers, with and
// without soft-cap and renormalisation; plus hand-computed ties, caps and gate sums.
// Shape legend: T tokens, E experts, K selected.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/cpu/reference/reference.h"
#include "kernels/cpu/router.h"
#include "tests/common/tolerance.h"
#include "tests/kernels/kernel_test_util.h"

namespace moescope::kernels {
namespace {

using test::all_close;
using test::Level;
using test::tolerance_for;

struct Routed {
  std::vector<float> probs, gates;
  std::vector<int32_t> ids;
};

Routed run(const std::vector<float>& logits, int64_t t, const RouterParams& p, bool reference) {
  Routed r{std::vector<float>(size_t(t * p.n_experts)), std::vector<float>(size_t(t * p.top_k)),
           std::vector<int32_t>(size_t(t * p.top_k))};
  if (reference)
    ref::route_ref(logits.data(), t, p, r.probs.data(), r.ids.data(), r.gates.data());
  else
    route(logits.data(), t, p, r.probs.data(), r.ids.data(), r.gates.data());
  return r;
}

TEST(Router, MatchesReference) {
  uint32_t seed = 1;
  for (auto [e, k] : {std::pair<int64_t, int64_t>{8, 2}, {16, 4}, {8, 8}, {3, 1}})
    for (float softcap : {0.0f, 30.0f})
      for (bool renormalize : {false, true})
        for (int64_t t : {1, 5})
          // Logits in [-scale, scale): far past the cap when there is one, else small enough
          // that no f32 probability underflows (underflowed ones tie; see
          // TiesGoToTheLowerExpertId).
          for (float scale : {3.0f, softcap > 0 ? 100.0f : 30.0f}) {
            SCOPED_TRACE(testing::Message()
                         << "E=" << e << " K=" << k << " softcap=" << softcap
                         << " renormalize=" << renormalize << " T=" << t << " scale=" << scale);
            RouterParams p{e, k, softcap, renormalize};
            const std::vector<float> logits =
                test::random_floats(size_t(t * e), seed++, -scale, scale);
            const Routed got = run(logits, t, p, false), want = run(logits, t, p, true);
            const auto tol = tolerance_for(DType::F32, Level::Kernel);
            EXPECT_TRUE(all_close(got.probs.data(), want.probs.data(), got.probs.size(), tol,
                                  "router probs"));
            EXPECT_TRUE(all_close(got.gates.data(), want.gates.data(), got.gates.size(), tol,
                                  "router gates"));
            EXPECT_EQ(got.ids, want.ids);
            for (int64_t i = 0; i < t; ++i) {
              double sum = 0, gate_sum = 0;
              for (int64_t x = 0; x < e; ++x) sum += got.probs[size_t(i * e + x)];
              for (int64_t j = 0; j < k; ++j) {
                gate_sum += got.gates[size_t(i * k + j)];
                if (j > 0) {  // descending
                  EXPECT_GE(got.gates[size_t(i * k + j - 1)], got.gates[size_t(i * k + j)]);
                }
              }
              EXPECT_NEAR(sum, 1.0, 1e-6);
              if (renormalize) {
                EXPECT_NEAR(gate_sum, 1.0, 1e-6);
              }
            }
          }
}

TEST(Router, TiesGoToTheLowerExpertId) {
  // Experts 1, 2 and 4 tie for first place, 0 and 6 tie below them.
  const std::vector<float> logits = {0.5f, 2.0f, 2.0f, -1.0f, 2.0f, 0.0f, 0.5f, -3.0f};
  for (bool reference : {false, true}) {
    RouterParams p{8, 4, 0.0f, false};
    const Routed r = run(logits, 1, p, reference);
    EXPECT_EQ(r.ids, (std::vector<int32_t>{1, 2, 4, 0})) << "reference " << reference;
    p.top_k = 2;
    EXPECT_EQ(run(logits, 1, p, reference).ids, (std::vector<int32_t>{1, 2}));
    const std::vector<float> all_equal(8, 1.25f);
    p.top_k = 3;
    EXPECT_EQ(run(all_equal, 1, p, reference).ids, (std::vector<int32_t>{0, 1, 2}));
  }
  // Probabilities that underflow to 0 in f32 (e^-200, e^-199.5) tie and go in id order, with
  // gate 0, as jax.lax.top_k does on the Grok-1 reference's f32 probabilities. (The double
  // reference still tells them apart, so only the kernel is checked here.)
  const std::vector<float> far = {0.0f, 200.0f, 0.5f, 150.0f};
  const Routed r = run(far, 1, RouterParams{4, 3, 0.0f, false}, false);
  EXPECT_EQ(r.ids, (std::vector<int32_t>{1, 3, 0}));
  EXPECT_EQ(r.gates[2], 0.0f);
}

// logits [100, 0, ln 2] with cap 30: z = [30 tanh(10/3), 0, 30 tanh(ln2/30)]. Without the cap,
// softmax would put all the weight on expert 0; with it, expert 0 still wins but the gates are
// the full-softmax probabilities and sum to less than 1 unless renormalised.
TEST(Router, HandComputedCapAndGates) {
  const std::vector<float> logits = {100.0f, 0.0f, float(std::log(2.0))};
  const double z0 = 30 * std::tanh(100.0 / 30), z2 = 30 * std::tanh(std::log(2.0) / 30);
  const double denom = std::exp(z0) + 1 + std::exp(z2);
  const double p0 = std::exp(z0) / denom, p1 = 1 / denom, p2 = std::exp(z2) / denom;
  for (bool reference : {false, true}) {
    RouterParams p{3, 2, 30.0f, false};
    Routed r = run(logits, 1, p, reference);
    EXPECT_NEAR(r.probs[0], p0, 1e-6);
    EXPECT_NEAR(r.probs[1], p1, 1e-12);
    EXPECT_NEAR(r.probs[2], p2, 1e-12);
    EXPECT_EQ(r.ids, (std::vector<int32_t>{0, 2}));
    EXPECT_NEAR(r.gates[0], p0, 1e-6);
    EXPECT_NEAR(r.gates[1], p2, 1e-12);
    p.renormalize = true;
    r = run(logits, 1, p, reference);
    EXPECT_NEAR(r.gates[0], p0 / (p0 + p2), 1e-6);
    EXPECT_NEAR(r.gates[1], p2 / (p0 + p2), 1e-12);
  }
  // Moderate logits, no cap: gates are the plain softmax, not renormalised (sum < 1).
  const std::vector<float> l2 = {1.0f, 2.0f, 3.0f, 0.0f};
  const double d2 = std::exp(1.0) + std::exp(2.0) + std::exp(3.0) + 1.0;
  for (bool reference : {false, true}) {
    const Routed r = run(l2, 1, RouterParams{4, 2, 0.0f, false}, reference);
    EXPECT_EQ(r.ids, (std::vector<int32_t>{2, 1}));
    EXPECT_NEAR(r.gates[0], std::exp(3.0) / d2, 1e-6);
    EXPECT_NEAR(r.gates[1], std::exp(2.0) / d2, 1e-6);
  }
}

}  // namespace
}  // namespace moescope::kernels
