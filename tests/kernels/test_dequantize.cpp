// WeightMatrix::at, dequantize_rows and dequantize_block: hand-computed values for every dtype
// and scale grouping, then the vectorised row/block converters against at() element by element
// (both are exact conversions times the same f32 scale, so they must agree bit for bit).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/cpu/matmul.h"
#include "tests/kernels/kernel_test_util.h"

namespace moescope::kernels {
namespace {

WeightMatrix matrix(DType dtype, const void* data, int64_t n, int64_t k,
                    const float* scales = nullptr, int64_t groups = 1) {
  WeightMatrix w;
  w.dtype = dtype;
  w.data = data;
  w.n = n;
  w.k = k;
  w.scales = scales;
  w.groups = groups;
  return w;
}

TEST(Dequantize, HandComputedValues) {
  const uint16_t bf16[4] = {0x3F80, 0xC000, 0x3F00, 0x4049};  // 1, -2, 0.5, 3.140625
  WeightMatrix wb = matrix(DType::BF16, bf16, 2, 2);
  EXPECT_EQ(wb.at(0, 0), 1.0f);
  EXPECT_EQ(wb.at(0, 1), -2.0f);
  EXPECT_EQ(wb.at(1, 0), 0.5f);
  EXPECT_EQ(wb.at(1, 1), 3.140625f);

  const uint16_t f16[4] = {0x3C00, 0xC000, 0x0001, 0x7BFF};  // 1, -2, 2^-24, 65504
  WeightMatrix wh = matrix(DType::F16, f16, 1, 4);
  EXPECT_EQ(wh.at(0, 0), 1.0f);
  EXPECT_EQ(wh.at(0, 1), -2.0f);
  EXPECT_EQ(wh.at(0, 2), std::ldexp(1.0f, -24));
  EXPECT_EQ(wh.at(0, 3), 65504.0f);

  const float f32[2] = {0.25f, -7.5f};
  WeightMatrix wf = matrix(DType::F32, f32, 1, 2);
  EXPECT_EQ(wf.at(0, 1), -7.5f);

  // I8, one scale per row: -3 * 0.5 = -1.5; 100 * 0.25 = 25.
  const int8_t i8[4] = {-3, 7, 100, -128};
  const float row_scales[2] = {0.5f, 0.25f};
  WeightMatrix wi = matrix(DType::I8, i8, 2, 2, row_scales, 1);
  EXPECT_EQ(wi.at(0, 0), -1.5f);
  EXPECT_EQ(wi.at(0, 1), 3.5f);
  EXPECT_EQ(wi.at(1, 0), 25.0f);
  EXPECT_EQ(wi.at(1, 1), -32.0f);

  // I8, G = 2 groups of 2 columns: row 0 scales (0.5, 2), row 1 scales (1, -1).
  const int8_t g8[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const float group_scales[4] = {0.5f, 2.0f, 1.0f, -1.0f};
  WeightMatrix wg = matrix(DType::I8, g8, 2, 4, group_scales, 2);
  const float want_g[8] = {0.5f, 1.0f, 6.0f, 8.0f, 5.0f, 6.0f, -7.0f, -8.0f};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(wg.at(i / 4, i % 4), want_g[i]) << i;

  // F8_E4M3: 0x38 = 1, 0x7E = 448 (largest), 0x01 = 2^-9 (smallest subnormal), 0xC0 = -2,
  // 0x0F = 1.875 * 2^-6, 0x7F = NaN.
  const uint8_t f8[6] = {0x38, 0x7E, 0x01, 0xC0, 0x0F, 0x7F};
  WeightMatrix w8 = matrix(DType::F8_E4M3, f8, 1, 6);
  EXPECT_EQ(w8.at(0, 0), 1.0f);
  EXPECT_EQ(w8.at(0, 1), 448.0f);
  EXPECT_EQ(w8.at(0, 2), std::ldexp(1.0f, -9));
  EXPECT_EQ(w8.at(0, 3), -2.0f);
  EXPECT_EQ(w8.at(0, 4), 1.875f * std::ldexp(1.0f, -6));
  EXPECT_TRUE(std::isnan(w8.at(0, 5)));

  // F8 with a scale: 1 * 0.125.
  const float s8 = 0.125f;
  WeightMatrix w8s = matrix(DType::F8_E4M3, f8, 1, 6, &s8, 1);
  EXPECT_EQ(w8s.at(0, 0), 0.125f);
  EXPECT_EQ(w8s.at(0, 1), 56.0f);

  // dequantize_rows gives the same values, scales applied.
  std::vector<float> out(8);
  dequantize_rows(wg, 0, 2, out.data());
  for (int i = 0; i < 8; ++i) EXPECT_EQ(out[size_t(i)], want_g[i]) << i;
  dequantize_rows(wi, 1, 2, out.data());
  EXPECT_EQ(out[0], 25.0f);
  EXPECT_EQ(out[1], -32.0f);
}

// Every one of the 256 F8 codes through the vectorised converter (32 = 4 vectors of 8 per row).
TEST(Dequantize, AllF8CodesMatchTheScalarConversion) {
  std::vector<uint8_t> codes(256);
  for (int i = 0; i < 256; ++i) codes[size_t(i)] = uint8_t(i);
  WeightMatrix w = matrix(DType::F8_E4M3, codes.data(), 8, 32);
  std::vector<float> out(256);
  dequantize_rows(w, 0, 8, out.data());
  for (int i = 0; i < 256; ++i) {
    const float want = fp8_e4m3_to_f32(uint8_t(i));
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(out[size_t(i)])) << "code " << i;
    } else {
      EXPECT_EQ(out[size_t(i)], want) << "code " << i;
      EXPECT_EQ(std::signbit(out[size_t(i)]), std::signbit(want)) << "code " << i;
    }
  }
}

// All F16 codes except NaNs through the vectorised converter.
TEST(Dequantize, AllF16CodesMatchTheScalarConversion) {
  std::vector<uint16_t> codes;
  for (int i = 0; i < 65536; ++i)
    if (!std::isnan(f16_to_f32(uint16_t(i)))) codes.push_back(uint16_t(i));
  const int64_t k = 61;  // odd: every row has a scalar tail
  const int64_t n = int64_t(codes.size()) / k;
  WeightMatrix w = matrix(DType::F16, codes.data(), n, k);
  std::vector<float> out(size_t(n * k));
  dequantize_rows(w, 0, n, out.data());
  for (int64_t i = 0; i < n * k; ++i)
    ASSERT_EQ(out[size_t(i)], f16_to_f32(codes[size_t(i)])) << "code " << codes[size_t(i)];
}

struct Case {
  DType dtype;
  int64_t groups;  // 0 = no scales
};

TEST(Dequantize, RowsAndBlocksMatchAtForEveryDtype) {
  const Case cases[] = {{DType::F32, 0},     {DType::BF16, 0}, {DType::F16, 0},
                        {DType::I8, 1},      {DType::I8, 4},   {DType::F8_E4M3, 0},
                        {DType::F8_E4M3, 2}, {DType::BF16, 3}};
  for (const Case& c : cases) {
    const int64_t n = 7, k = 84;  // 84 = 4 * 21 = 3 * 28 = 2 * 42: every G divides it
    test::OwnedWeights o = test::random_weights(c.dtype, n, k, c.groups, 11);
    SCOPED_TRACE(testing::Message() << dtype_name(c.dtype) << " G=" << c.groups);
    std::vector<float> rows(size_t(n * k));
    dequantize_rows(o.w, 0, n, rows.data());
    for (int64_t r = 0; r < n; ++r)
      for (int64_t col = 0; col < k; ++col)
        ASSERT_EQ(rows[size_t(r * k + col)], o.w.at(r, col)) << r << "," << col;
    // A block that straddles group boundaries and starts off a vector boundary.
    const int64_t r0 = 2, r1 = 6, c0 = 5, c1 = 70, ld = 80;
    std::vector<float> block(size_t((r1 - r0) * ld), -99.0f);
    dequantize_block(o.w, r0, r1, c0, c1, block.data(), ld);
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t col = 0; col < ld; ++col) {
        const float got = block[size_t((r - r0) * ld + col)];
        if (col < c1 - c0)
          ASSERT_EQ(got, o.w.at(r, c0 + col)) << r << "," << col;
        else
          ASSERT_EQ(got, -99.0f) << "wrote past the block at " << r << "," << col;
      }
  }
}

}  // namespace
}  // namespace moescope::kernels
