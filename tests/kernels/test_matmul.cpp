// matmul against matmul_ref for every weight dtype, scale grouping, decode and prefill shapes
// (odd K and N, K past one cache block), thread counts 1 and 3, with and without accumulate, in
// both weight layouts, on every instruction-set variant this CPU runs (isa.h; the others skip).
// The reference reads the same dequantised weights (WeightMatrix::at) and sums in double, so
// the only difference is f32 summation order: the F32 kernel tolerance applies to every dtype.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <ostream>
#include <random>
#include <vector>

#include "kernels/cpu/isa.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/matmul_variants.h"
#include "kernels/cpu/precision.h"
#include "kernels/cpu/reference/reference.h"
#include "kernels/cpu/weight_packing.h"
#include "tests/common/tolerance.h"
#include "tests/kernels/kernel_test_util.h"

namespace moescope::kernels {

// How an instruction set reads in test logs (found by argument-dependent lookup, so here).
void PrintTo(Isa isa, std::ostream* os) {
  *os << isa_name(isa);
}

namespace {

using test::all_close;
using test::Level;
using test::tolerance_for;

struct WeightCase {
  DType dtype;
  int64_t groups;  // 0 = no scales
};

// How the parameters read in test logs (instead of their bytes).
void PrintTo(const WeightCase& c, std::ostream* os) {
  *os << dtype_name(c.dtype) << " G=" << c.groups;
}

struct Shape {
  int64_t t, k, n;
};

// Shapes for both paths: T <= 16 converts weights in registers (decode, short prompts), larger T
// packs W into panels (prefill; on the AMX path when N >= 32, with T, K and N past its 16-row,
// 32-column and 256 x 256 panel blocks: {33, 600, 300}). K values are odd or not multiples of 8/16,
// and 530/1100 cross the 256-column panel block with a ragged end; N values leave partial register
// tiles and panels. With 3 threads, {1, 1024, 512} and {20, 520, 256} split N, {64, 300, 8} and
// {40, 300, 8} split T (N too small to share) into chunks on either path. K values are
// multiples of 4 where the case uses G = 4 (see shape_ok).
const Shape kShapes[] = {{1, 64, 16},    {1, 67, 13},   {2, 132, 37},   {3, 1000, 50}, {4, 8, 9},
                         {5, 33, 7},     {1, 1, 1},     {16, 257, 41},  {17, 257, 41}, {7, 530, 19},
                         {64, 1100, 70}, {9, 520, 256}, {20, 520, 256}, {64, 300, 8},  {40, 300, 8},
                         {1, 1024, 512}, {23, 19, 3},   {33, 600, 300}};

bool shape_ok(const Shape& s, const WeightCase& c) {
  return c.groups <= 1 || s.k % c.groups == 0;
}

// Shapes for packed weights (weight_packing.h): K and K / 4 multiples of 32, so that every dtype
// and grouping packs. N values leave a row-major tail of 0-3 rows and partial thread blocks; T
// covers one and two x rows per tile, the largest direct T, the prefill path and the T split.
const Shape kPackedShapes[] = {{1, 128, 16},   {1, 256, 13},   {2, 512, 37},  {3, 1024, 50},
                               {5, 128, 7},    {1, 128, 4},    {16, 384, 41}, {17, 384, 41},
                               {64, 1152, 70}, {20, 512, 256}, {64, 256, 8},  {1, 1024, 514}};

// What the reference multiplies: x, x rounded to bf16 (the Bf16 activations mode's prefill) or
// x quantised to int8 blocks (the Int8 mode's decode of I8 weights; precision.h).
enum class XAs { F32, Bf16, Int8 };

// x [T, K] as the Int8 activations mode quantises it: blocks of up to kInt8XBlock columns inside
// each scale group of group_len columns, step = max|x| / 127, q = round(x / step), nearest even.
std::vector<float> int8_blocks(const std::vector<float>& x, int64_t t, int64_t k,
                               int64_t group_len) {
  std::vector<float> out(x.size());
  for (int64_t r = 0; r < t; ++r)
    for (int64_t g0 = 0; g0 < k; g0 += group_len)
      for (int64_t b0 = g0; b0 < g0 + group_len; b0 += kInt8XBlock) {
        const int64_t b1 = std::min(b0 + kInt8XBlock, g0 + group_len);
        float largest = 0.0f;
        for (int64_t i = b0; i < b1; ++i)
          largest = std::max(largest, std::fabs(x[size_t(r * k + i)]));
        const float step = largest / 127.0f, inv = largest == 0.0f ? 0.0f : 127.0f / largest;
        for (int64_t i = b0; i < b1; ++i)
          out[size_t(r * k + i)] = std::nearbyint(x[size_t(r * k + i)] * inv) * step;
      }
  return out;
}

void check(const WeightCase& c, const Shape& s, int threads, bool accumulate, uint32_t seed,
           bool packed = false, XAs x_as = XAs::F32) {
  SCOPED_TRACE(testing::Message() << dtype_name(c.dtype) << " G=" << c.groups << " T=" << s.t
                                  << " K=" << s.k << " N=" << s.n << " threads=" << threads
                                  << " accumulate=" << accumulate << " packed=" << packed);
  test::OwnedWeights o = test::random_weights(c.dtype, s.n, s.k, c.groups, seed);
  if (packed) {
    ASSERT_TRUE(can_pack(o.w));
    o.w = pack_weights(o.w, o.bytes.data());  // in place; the reference reads at(), which follows
  }
  const std::vector<float> x = test::random_floats(size_t(s.t * s.k), seed + 2);
  std::vector<float> want = test::random_floats(size_t(s.t * s.n), seed + 3);
  std::vector<float> got = want;  // the same starting y for accumulate
  std::vector<float> x_ref = x;
  if (x_as == XAs::Bf16)
    for (float& v : x_ref) v = bf16_to_f32(f32_to_bf16(v));
  if (x_as == XAs::Int8) x_ref = int8_blocks(x, s.t, s.k, s.k / o.w.groups);
  ref::matmul_ref(x_ref.data(), s.t, o.w, want.data(), accumulate);
  std::unique_ptr<ThreadPool> pool = threads > 0 ? std::make_unique<ThreadPool>(threads) : nullptr;
  matmul(x.data(), s.t, o.w, got.data(), pool.get(), accumulate);
  EXPECT_TRUE(all_close(got.data(), want.data(), got.size(),
                        tolerance_for(DType::F32, Level::Kernel), "matmul"));
}

const WeightCase kCases[] = {{DType::F32, 0},     {DType::BF16, 0},   {DType::F16, 0},
                             {DType::I8, 1},      {DType::I8, 4},     {DType::F8_E4M3, 0},
                             {DType::F8_E4M3, 1}, {DType::F8_E4M3, 4}};

const Isa kIsas[] = {Isa::Portable, Isa::Avx2, Isa::Avx512, Isa::Amx};

// Runs the test on its variant, or skips when this CPU does not have it.
#define USE_ISA(isa)                                                                          \
  if ((isa) > detected_isa())                                                                 \
    GTEST_SKIP() << isa_name(isa) << " is not available here (" << cpu_feature_list() << ")"; \
  ScopedIsa scoped_isa(isa)

class MatmulTest : public testing::TestWithParam<std::tuple<WeightCase, Isa>> {
 protected:
  const WeightCase& weights() const { return std::get<0>(GetParam()); }
  Isa isa() const { return std::get<1>(GetParam()); }
};

TEST_P(MatmulTest, MatchesReference) {
  USE_ISA(isa());
  uint32_t seed = 100;
  for (const Shape& s : kShapes) {
    if (!shape_ok(s, weights())) continue;
    for (int threads : {1, 3}) check(weights(), s, threads, false, seed++);
  }
}

TEST_P(MatmulTest, AccumulatesIntoY) {
  USE_ISA(isa());
  uint32_t seed = 500;
  for (const Shape& s : kShapes) {
    if (!shape_ok(s, weights())) continue;
    check(weights(), s, 3, true, seed++);
  }
}

// Packed weights (every path: packed blocks, the row-major tail, prefill from packed blocks).
TEST_P(MatmulTest, PackedMatchesReference) {
  USE_ISA(isa());
  uint32_t seed = 700;
  for (const Shape& s : kPackedShapes)
    for (int threads : {1, 3})
      for (bool accumulate : {false, true}) check(weights(), s, threads, accumulate, seed++, true);
}

TEST_P(MatmulTest, NullPoolRunsInline) {
  USE_ISA(isa());
  check(weights(), {6, 132, 20}, 0, false, 900);
  check(weights(), {40, 132, 40}, 0, false, 901);
}

INSTANTIATE_TEST_SUITE_P(DtypesIsas, MatmulTest,
                         testing::Combine(testing::ValuesIn(kCases), testing::ValuesIn(kIsas)),
                         [](const testing::TestParamInfo<std::tuple<WeightCase, Isa>>& info) {
                           const WeightCase& c = std::get<0>(info.param);
                           return std::string(dtype_name(c.dtype)) + "_G" +
                                  std::to_string(c.groups) + "_" +
                                  isa_name(std::get<1>(info.param));
                         });

// W = I (bf16): every output is one product x * 1, so each variant must return x exactly, whatever
// the bits of x (the AMX path splits x into three bf16 parts: 24 significant bits in all). Rows
// of x hold values with every mantissa bit set, powers of two, tiny and huge normals.
TEST(Matmul, IdentityWeightsGiveXExactlyOnEveryVariant) {
  const int64_t n = 64, t = 40;
  std::vector<uint16_t> eye(size_t(n * n), 0);
  for (int64_t i = 0; i < n; ++i) eye[size_t(i * n + i)] = f32_to_bf16(1.0f);
  WeightMatrix w;
  w.dtype = DType::BF16;
  w.data = eye.data();
  w.n = w.k = n;
  std::vector<float> x = test::random_floats(size_t(t * n), 77);
  const float specials[] = {1.0f + 0x1p-23f,
                            -(2.0f - 0x1p-23f),
                            0x1.fffffep-100f,
                            0x1.abcdefp+90f,
                            3.0f,
                            0x1p-120f,
                            -0x1.000002p+3f,
                            0.1f};
  for (size_t i = 0; i < std::size(specials); ++i) x[i * 7] = specials[i];
  for (Isa isa : kIsas) {
    if (isa > detected_isa()) continue;
    SCOPED_TRACE(isa_name(isa));
    ScopedIsa scoped(isa);
    for (int64_t rows : {int64_t(1), t}) {
      std::vector<float> y(size_t(rows * n), -1.0f);
      matmul(x.data(), rows, w, y.data(), nullptr);
      for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], x[i]) << "element " << i;
    }
  }
}

// Several products of one x in one loop: each output as matmul_ref gives it, for decode and
// prefill, row-major and packed, the outputs' row blocks shared across 1 and 3 threads.
TEST(Matmul, SharedXMatchesOneMatmulEach) {
  const int64_t k = 256;
  // Block ends inside each output; with 16 rows the outputs do not take the AMX path together,
  // with 64 they do (its blocks of 32 columns mapped over all three).
  for (const int64_t middle : {16, 64})
    for (Isa isa : kIsas) {
      if (isa > detected_isa()) continue;
      ScopedIsa scoped(isa);
      const int64_t ns[] = {130, middle, 37};
      for (int64_t t : {1, 3, 40})
        for (bool packed : {false, true})
          for (int threads : {1, 3}) {
            SCOPED_TRACE(testing::Message() << isa_name(isa) << " N=" << middle << " T=" << t
                                            << " packed=" << packed << " threads=" << threads);
            std::vector<test::OwnedWeights> ws;
            std::vector<std::vector<float>> ys, wants;
            std::vector<MatmulOutput> outs;
            const std::vector<float> x = test::random_floats(size_t(t * k), 31);
            for (int i = 0; i < 3; ++i) {
              ws.push_back(test::random_weights(DType::BF16, ns[i], k, 0, 40 + i));
              if (packed) ws.back().w = pack_weights(ws.back().w, ws.back().bytes.data());
              wants.emplace_back(size_t(t * ns[i]));
              ref::matmul_ref(x.data(), t, ws.back().w, wants.back().data(), false);
              ys.emplace_back(size_t(t * ns[i]), 123.0f);  // overwritten, not accumulated into
            }
            for (int i = 0; i < 3; ++i) outs.push_back({&ws[size_t(i)].w, ys[size_t(i)].data()});
            ThreadPool pool(threads);
            matmul_shared_x(x.data(), t, outs, &pool);
            for (int i = 0; i < 3; ++i)
              EXPECT_TRUE(all_close(ys[size_t(i)].data(), wants[size_t(i)].data(),
                                    ys[size_t(i)].size(), tolerance_for(DType::F32, Level::Kernel),
                                    "output " + std::to_string(i)));
          }
    }
}

// Scales also apply to float weights when present (the contract of WeightMatrix::scales).
TEST(Matmul, ScalesOnBf16Weights) {
  for (int64_t t : {1, 8}) check({DType::BF16, 3}, {t, 99, 10}, 3, false, 950);
}

// A hand-sized case, so the kernel is checked against arithmetic and not only the reference:
// The Bf16 activations mode (precision.h): prefill products of BF16 and I8 weights (scale groups,
// if several, of a multiple of 16 columns) are exact products of x rounded to bf16, summed in
// f32: against the reference fed the rounded x, only the summation order differs (the f32
// tolerance). Everything else (decode, other dtypes and groupings, odd K) keeps f32 x. The AVX-512
// level is forced: AMX, where the CPU has it, would take these products first, exactly.
TEST(Matmul, Bf16ActivationsAreExactProductsOfRoundedX) {
  if (!cpu_has_avx512_bf16()) GTEST_SKIP() << "no AVX512-BF16 on this CPU";
  ScopedIsa scoped_isa(Isa::Avx512);
  ScopedActivations scoped(Activations::Bf16);
  uint32_t seed = 1300;
  for (const WeightCase c : {WeightCase{DType::BF16, 0}, WeightCase{DType::BF16, 1},
                             WeightCase{DType::I8, 1}, WeightCase{DType::I8, 4}}) {
    for (const Shape& s : kShapes) {
      if (!shape_ok(s, c)) continue;
      const bool rounded =
          s.t > kDirectMaxT && s.k % 2 == 0 && (c.groups <= 1 || (s.k / c.groups) % 16 == 0);
      for (int threads : {1, 3})
        check(c, s, threads, threads == 3, seed++, false, rounded ? XAs::Bf16 : XAs::F32);
    }
    for (const Shape& s : kPackedShapes)
      check(c, s, 3, false, seed++, true, s.t > kDirectMaxT ? XAs::Bf16 : XAs::F32);
  }
  for (const WeightCase c :
       {WeightCase{DType::F32, 0}, WeightCase{DType::F16, 0}, WeightCase{DType::F8_E4M3, 1}})
    for (const Shape& s : kPackedShapes) check(c, s, 3, false, seed++, true, XAs::F32);
}

// The mode is visible: the same prefill differs from the f32 one by about bf16's rounding.
TEST(Matmul, Bf16ActivationsChangeThePrefill) {
  if (!cpu_has_avx512_bf16()) GTEST_SKIP() << "no AVX512-BF16 on this CPU";
  ScopedIsa scoped_isa(Isa::Avx512);
  const int64_t t = 64, k = 512, n = 96;
  test::OwnedWeights o = test::random_weights(DType::BF16, n, k, 0, 31);
  const std::vector<float> x = test::random_floats(size_t(t * k), 32);
  std::vector<float> exact(size_t(t * n)), rounded(exact.size());
  matmul(x.data(), t, o.w, exact.data(), nullptr);
  {
    ScopedActivations scoped(Activations::Bf16);
    matmul(x.data(), t, o.w, rounded.data(), nullptr);
  }
  EXPECT_FALSE(all_close(rounded.data(), exact.data(), exact.size(),
                         tolerance_for(DType::F32, Level::Kernel), "bf16 against f32 x"));
  EXPECT_TRUE(all_close(rounded.data(), exact.data(), exact.size(),
                        tolerance_for(DType::BF16, Level::Kernel), "bf16 against f32 x"));
}

// The Int8 activations mode (precision.h): products of I8 weights whose K and scale groups are
// multiples of 32 columns are exact products of x quantised to int8 blocks (int8_blocks), in
// decode (packed weights, the row-major tail's rows too) and prefill (packed or row-major); other
// prefills are the Bf16 mode's where the CPU has AVX512-BF16; row-major decode and other dtypes
// keep f32 x. Scale groups of 96 columns (K = 384, G = 4) end in a 32-column block. {1, 4096,
// 18} on 3 threads gives one thread the row-major tail alone (rows 16-17).
TEST(Matmul, Int8ActivationsAreExactProductsOfQuantisedX) {
  if (detected_isa() < Isa::Avx512) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  ScopedIsa scoped_isa(Isa::Avx512);
  ScopedActivations scoped(Activations::Int8);
  uint32_t seed = 1500;
  for (const WeightCase c : {WeightCase{DType::I8, 1}, WeightCase{DType::I8, 4}}) {
    for (const Shape& s : kPackedShapes)
      for (int threads : {1, 3}) check(c, s, threads, threads == 3, seed++, true, XAs::Int8);
    check(c, {1, 4096, 18}, 3, false, seed++, true, XAs::Int8);
    for (const Shape& s : {Shape{40, 256, 30}, Shape{33, 384, 70}, Shape{18, 1152, 33}})
      for (int threads : {1, 3}) check(c, s, threads, false, seed++, false, XAs::Int8);
    for (const Shape& s : kShapes) {
      if (!shape_ok(s, c)) continue;
      const bool int8 = s.t > kDirectMaxT && s.k % 32 == 0 && (s.k / c.groups) % 32 == 0;
      const bool bf16 = s.t > kDirectMaxT && cpu_has_avx512_bf16() && s.k % 2 == 0 &&
                        (c.groups <= 1 || (s.k / c.groups) % 16 == 0);
      check(c, s, 3, false, seed++, false, int8 ? XAs::Int8 : bf16 ? XAs::Bf16 : XAs::F32);
    }
  }
  for (const WeightCase c : {WeightCase{DType::BF16, 0}, WeightCase{DType::F8_E4M3, 1}})
    for (const Shape& s : kPackedShapes)
      if (s.t <= kDirectMaxT) check(c, s, 3, false, seed++, true, XAs::F32);
}

// The Int8 mode is visible in decode (about int8's rounding away from the exact result, within
// the int8 kernel tolerance of it); a row it cannot quantise (NaN, or every value below 2^-100)
// takes the exact path: NaN reaches y, tiny values keep their products.
TEST(Matmul, Int8ActivationsChangeTheDecode) {
  if (detected_isa() < Isa::Avx512) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  ScopedIsa scoped_isa(Isa::Avx512);
  const int64_t t = 4, k = 512, n = 96;
  test::OwnedWeights o = test::random_weights(DType::I8, n, k, 4, 41);
  const WeightMatrix w = pack_weights(o.w, o.bytes.data());
  std::vector<float> x = test::random_floats(size_t(t * k), 42);
  std::vector<float> exact(size_t(t * n)), quantised(exact.size());
  auto run = [&](std::vector<float>& y) {
    matmul(x.data(), 2, w, y.data(), nullptr);
    matmul(x.data() + 2 * k, 2, w, y.data() + 2 * n, nullptr);  // a tile of one row each
  };
  run(exact);
  {
    ScopedActivations scoped(Activations::Int8);
    run(quantised);
  }
  EXPECT_FALSE(all_close(quantised.data(), exact.data(), exact.size(),
                         tolerance_for(DType::BF16, Level::Kernel), "int8 against f32 x"));
  EXPECT_TRUE(all_close(quantised.data(), exact.data(), exact.size(),
                        tolerance_for(DType::I8, Level::Kernel), "int8 against f32 x"));

  x[size_t(7)] = std::numeric_limits<float>::quiet_NaN();
  for (int64_t i = k; i < 2 * k; ++i) x[size_t(i)] *= 0x1p-110f;
  run(exact);
  {
    ScopedActivations scoped(Activations::Int8);
    run(quantised);
  }
  for (int64_t c = 0; c < n; ++c) {
    EXPECT_TRUE(std::isnan(quantised[size_t(c)])) << "col " << c;
    EXPECT_EQ(quantised[size_t(n + c)], exact[size_t(n + c)]) << "col " << c;
  }
}

// A prefill whose x has a block the Int8 mode cannot quantise (NaN, or every value below 2^-100)
// goes whole to the path the Bf16 mode takes (the same bits): NaN reaches its row of y, tiny
// values keep their products.
TEST(Matmul, Int8PrefillLeavesWhatItCannotQuantiseToTheBf16Path) {
  if (detected_isa() < Isa::Avx512) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  ScopedIsa scoped_isa(Isa::Avx512);
  const int64_t t = 24, k = 256, n = 64;
  test::OwnedWeights o = test::random_weights(DType::I8, n, k, 1, 43);
  const WeightMatrix w = pack_weights(o.w, o.bytes.data());
  for (const bool nan : {true, false}) {
    SCOPED_TRACE(nan ? "NaN" : "tiny");
    std::vector<float> x = test::random_floats(size_t(t * k), 44);
    if (nan) {
      x[size_t(3 * k + 100)] = std::numeric_limits<float>::quiet_NaN();
    } else {
      for (int64_t i = 5 * k; i < 5 * k + kInt8XBlock; ++i) x[size_t(i)] *= 0x1p-110f;
    }
    std::vector<float> int8(size_t(t * n)), other(int8.size());
    {
      ScopedActivations scoped(Activations::Int8);
      matmul(x.data(), t, w, int8.data(), nullptr);
    }
    {
      ScopedActivations scoped(cpu_has_avx512_bf16() ? Activations::Bf16 : Activations::F32);
      matmul(x.data(), t, w, other.data(), nullptr);
    }
    for (size_t i = 0; i < int8.size(); ++i) {
      if (nan && i / size_t(n) == 3) {
        EXPECT_TRUE(std::isnan(int8[i])) << i;
        continue;
      }
      EXPECT_EQ(int8[i], other[i]) << i;
    }
  }
}

// The AVX-512 int8 decode path multiplies x as 24-bit fixed point against its row's largest
// magnitude (isa.h): each output within a few units of 2^-24 * max|x| * |w row| (2-norm) of
// the exact sum, a bound that losing any of x's three digits, or the w + 128 correction, breaks
// by orders of magnitude. Rows: uniform, a wide range of magnitudes, all zeros, one below
// 2^-100 (taken by the f32 path), and NaN / infinity (carried into y, as matmul_ref does).
TEST(Matmul, I8DecodeKeepsXTo24BitsOfItsLargest) {
  if (detected_isa() < Isa::Avx512) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  ScopedIsa scoped(Isa::Avx512);
  const int64_t k = 1024, n = 66;  // 16 packed blocks and a row-major tail of 2
  for (int64_t groups : {1, 4}) {
    SCOPED_TRACE(testing::Message() << "G=" << groups);
    test::OwnedWeights ow = test::random_weights(DType::I8, n, k, groups, 5);
    const WeightMatrix w = pack_weights(ow.w, ow.bytes.data());
    const int64_t t = 6;
    std::vector<float> x = test::random_floats(size_t(t * k), 9);
    std::mt19937 rng(4);
    std::uniform_int_distribution<int> exponent(-30, 30);
    for (int64_t i = k; i < 2 * k; ++i) x[size_t(i)] = std::ldexp(x[size_t(i)], exponent(rng));
    std::fill(x.begin() + 2 * k, x.begin() + 3 * k, 0.0f);
    for (int64_t i = 3 * k; i < 4 * k; ++i) x[size_t(i)] *= 0x1p-110f;
    x[size_t(4 * k + 77)] = std::numeric_limits<float>::quiet_NaN();
    x[size_t(5 * k + 500)] = std::numeric_limits<float>::infinity();
    for (int64_t rows : {int64_t(1), int64_t(2), t}) {
      std::vector<float> y(size_t(rows * n));
      matmul(x.data(), rows, w, y.data(), nullptr);
      for (int64_t r = 0; r < rows; ++r) {
        const float* xr = x.data() + r * k;
        float largest = 0;
        bool finite = true;
        for (int64_t j = 0; j < k; ++j) {
          largest = std::max(largest, std::fabs(xr[j]));
          finite = finite && std::isfinite(xr[j]);
        }
        for (int64_t c = 0; c < n; ++c) {
          const float got = y[size_t(r * n + c)];
          if (!finite) {
            EXPECT_FALSE(std::isfinite(got)) << "row " << r << " col " << c;
            continue;
          }
          double exact = 0, norm2 = 0;
          for (int64_t j = 0; j < k; ++j) {
            const double wj = double(w.at(c, j));
            exact += double(xr[j]) * wj;
            norm2 += wj * wj;
          }
          const double bound = 16 * 0x1p-24 * double(largest) * std::sqrt(norm2);
          EXPECT_LE(std::fabs(double(got) - exact), bound)
              << "rows " << rows << ", row " << r << " col " << c << ": got " << got << ", want "
              << exact;
        }
      }
    }
  }
}

// W = [[1, 2, 3], [-1, 0, 1]] as I8 with row scales (0.5, 2); x = [[1, 1, 1], [2, 0, -1]].
TEST(Matmul, HandComputedI8) {
  const int8_t q[6] = {1, 2, 3, -1, 0, 1};
  const float scales[2] = {0.5f, 2.0f};
  WeightMatrix w;
  w.dtype = DType::I8;
  w.data = q;
  w.n = 2;
  w.k = 3;
  w.scales = scales;
  const float x[6] = {1, 1, 1, 2, 0, -1};
  float y[4] = {10, 10, 10, 10};
  matmul(x, 2, w, y, nullptr);
  EXPECT_EQ(y[0], 3.0f);   // 0.5 * (1 + 2 + 3)
  EXPECT_EQ(y[1], 0.0f);   // 2 * (-1 + 0 + 1)
  EXPECT_EQ(y[2], -0.5f);  // 0.5 * (2 - 3)
  EXPECT_EQ(y[3], -6.0f);  // 2 * (-2 - 1)
  matmul(x, 2, w, y, nullptr, /*accumulate=*/true);
  EXPECT_EQ(y[0], 6.0f);
  EXPECT_EQ(y[3], -12.0f);
}

}  // namespace
}  // namespace moescope::kernels
