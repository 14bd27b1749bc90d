// embed against embed_ref for every table dtype (with and without scales), repeated ids and the
// first and last rows; plus a hand-computed bf16 lookup with Grok-1's multiplier.
// Shape legend: T tokens, V vocab rows, D features.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/cpu/embedding.h"
#include "kernels/cpu/reference/reference.h"
#include "tests/common/tolerance.h"
#include "tests/kernels/kernel_test_util.h"

namespace moescope::kernels {
namespace {

using test::all_close;
using test::Level;
using test::tolerance_for;

TEST(Embedding, MatchesReference) {
  struct Case {
    DType dtype;
    int64_t groups;  // 0 = no scales
  };
  const Case cases[] = {{DType::F32, 0}, {DType::BF16, 0},    {DType::F16, 0},    {DType::I8, 1},
                        {DType::I8, 3},  {DType::F8_E4M3, 0}, {DType::F8_E4M3, 1}};
  uint32_t seed = 1;
  for (const Case& c : cases)
    for (int64_t d : {1, 33, 96, 6144}) {
      if (c.groups > 1 && d % c.groups != 0) continue;
      const int64_t v = 50;
      SCOPED_TRACE(testing::Message() << dtype_name(c.dtype) << " G=" << c.groups << " D=" << d);
      test::OwnedWeights table = test::random_weights(c.dtype, v, d, c.groups, seed++);
      for (const std::vector<int32_t>& ids :
           {std::vector<int32_t>{17}, std::vector<int32_t>{0, 49, 3, 3, 17}}) {
        const int64_t t = int64_t(ids.size());
        std::vector<float> got(size_t(t * d), -1.0f), want(size_t(t * d));
        embed(table.w, ids.data(), t, 78.38367176906169f, got.data());
        ref::embed_ref(table.w, ids.data(), t, 78.38367176906169f, want.data());
        EXPECT_TRUE(all_close(got.data(), want.data(), got.size(),
                              tolerance_for(DType::F32, Level::Kernel), "embed"));
      }
    }
}

TEST(Embedding, HandComputedBf16) {
  // Row 1 = [1, -2, 0.5] in bf16.
  const uint16_t table[6] = {0x0000, 0x0000, 0x0000, 0x3F80, 0xC000, 0x3F00};
  WeightMatrix w;
  w.dtype = DType::BF16;
  w.data = table;
  w.n = 2;
  w.k = 3;
  const int32_t ids[2] = {1, 1};
  float out[6];
  embed(w, ids, 2, 2.0f, out);
  const float want[6] = {2.0f, -4.0f, 1.0f, 2.0f, -4.0f, 1.0f};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out[i], want[i]) << i;
}

}  // namespace
}  // namespace moescope::kernels
