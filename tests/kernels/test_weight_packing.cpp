// Packed4 weights (weight_packing.h): which matrices pack, the exact byte order on a hand-sized
// case, and for every dtype and grouping that packing keeps every element where at(),
// dequantize_rows and dequantize_block find it (bit for bit), in place or into a copy.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "kernels/cpu/weight_packing.h"
#include "tests/kernels/kernel_test_util.h"

namespace moescope::kernels {
namespace {

TEST(WeightPacking, WhichMatricesPack) {
  test::OwnedWeights bf = test::random_weights(DType::BF16, 8, 64, 0, 1);
  EXPECT_TRUE(can_pack(bf.w));
  WeightMatrix w = bf.w;
  w.k = 24;  // not a multiple of 16 bf16 elements per chunk
  EXPECT_FALSE(can_pack(w));
  w = bf.w;
  w.n = 3;  // no full block of four rows
  EXPECT_FALSE(can_pack(w));
  test::OwnedWeights i8 = test::random_weights(DType::I8, 8, 128, 4, 2);
  EXPECT_TRUE(can_pack(i8.w));  // groups of 32 = one chunk of 32 int8
  test::OwnedWeights i8g = test::random_weights(DType::I8, 8, 128, 8, 3);
  EXPECT_FALSE(can_pack(i8g.w));  // groups of 16 split a chunk
  WeightMatrix p = pack_weights(bf.w, bf.bytes.data());
  EXPECT_EQ(p.layout, WeightLayout::Packed4);
  EXPECT_FALSE(can_pack(p));  // already packed
  test::OwnedWeights i32 = test::random_weights(DType::F32, 8, 64, 0, 4);
  i32.w.dtype = DType::I32;
  EXPECT_FALSE(can_pack(i32.w));
}

// F32, N = 5 (one block and a one-row tail), K = 16 (two chunks of 8): the block's chunks go
// row by row, the tail row stays where it was.
TEST(WeightPacking, HandComputedOrder) {
  std::vector<float> rows(5 * 16);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = float(i);  // element (n, k) = 16 n + k
  WeightMatrix w;
  w.dtype = DType::F32;
  w.data = rows.data();
  w.n = 5;
  w.k = 16;
  std::vector<float> packed(rows.size());
  const WeightMatrix p = pack_weights(w, packed.data());
  const float first[16] = {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23};
  for (int i = 0; i < 16; ++i) EXPECT_EQ(packed[size_t(i)], first[i]) << i;
  EXPECT_EQ(packed[32], 8.0f);   // chunk 1 of row 0
  EXPECT_EQ(packed[56], 56.0f);  // chunk 1 of row 3: (3 * 16 + 8)
  for (int k = 0; k < 16; ++k) EXPECT_EQ(packed[size_t(64 + k)], float(64 + k));
  EXPECT_EQ(element_index(p, 3, 9), 57);
  EXPECT_EQ(contiguous_run(p, 3, 9), 7);
  EXPECT_EQ(contiguous_run(p, 4, 9), 7);  // the tail is row-major: to the row's end
}

struct PackCase {
  DType dtype;
  int64_t groups;  // 0 = no scales
};

class PackingTest : public testing::TestWithParam<PackCase> {};

TEST_P(PackingTest, KeepsEveryElement) {
  const PackCase c = GetParam();
  const int64_t n = 11, k = 256;  // two blocks and a three-row tail
  test::OwnedWeights o = test::random_weights(c.dtype, n, k, c.groups, 7);
  ASSERT_TRUE(can_pack(o.w));
  std::vector<uint8_t> copy(o.bytes.size());
  const WeightMatrix p = pack_weights(o.w, copy.data());
  EXPECT_NE(std::memcmp(copy.data(), o.bytes.data(), copy.size()), 0) << "nothing moved";
  for (int64_t r = 0; r < n; ++r)
    for (int64_t col = 0; col < k; ++col)
      ASSERT_EQ(p.at(r, col), o.w.at(r, col)) << r << "," << col;

  std::vector<float> want(size_t(n * k)), got(size_t(n * k));
  dequantize_rows(o.w, 0, n, want.data());
  dequantize_rows(p, 0, n, got.data());
  EXPECT_EQ(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)), 0);
  // A block that starts and ends inside chunks and rows of the blocks and the tail.
  const int64_t r0 = 2, r1 = 10, c0 = 5, c1 = 201, ld = 200;
  std::vector<float> bw(size_t((r1 - r0) * ld), -1.0f), bg = bw;
  dequantize_block(o.w, r0, r1, c0, c1, bw.data(), ld);
  dequantize_block(p, r0, r1, c0, c1, bg.data(), ld);
  EXPECT_EQ(std::memcmp(bg.data(), bw.data(), bw.size() * sizeof(float)), 0);

  // In place gives the same bytes as into a copy.
  const WeightMatrix q = pack_weights(o.w, o.bytes.data());
  EXPECT_EQ(q.data, o.bytes.data());
  EXPECT_EQ(std::memcmp(copy.data(), o.bytes.data(), copy.size()), 0);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, PackingTest,
                         testing::Values(PackCase{DType::F32, 0}, PackCase{DType::BF16, 0},
                                         PackCase{DType::F16, 0}, PackCase{DType::I8, 1},
                                         PackCase{DType::I8, 4}, PackCase{DType::F8_E4M3, 0},
                                         PackCase{DType::F8_E4M3, 8}),
                         [](const testing::TestParamInfo<PackCase>& info) {
                           return std::string(dtype_name(info.param.dtype)) + "_G" +
                                  std::to_string(info.param.groups);
                         });

}  // namespace
}  // namespace moescope::kernels
