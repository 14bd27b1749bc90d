// Loading checkpoints: every naming scheme and storage dtype reads back to the values written,
// and a model stored as bf16 / f16 / int8+scales / fp8 computes the same logits as its f32 twin.
// Bad checkpoints fail before any compute, naming the tensor and what was expected.
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/core/error.h"
#include "engine/model/model.h"
#include "engine/weights/checkpoint.h"
#include "engine/weights/model_weights.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/precision.h"
#include "tests/common/expect_error.h"
#include "tests/common/test_paths.h"
#include "tests/common/tiny_checkpoint.h"
#include "tests/common/tolerance.h"

namespace moescope {
namespace {

using kernels::DType;

struct Case {
  Arch arch;
  NamingScheme scheme;
  DType dtype;
};

std::string case_name(const Case& c) {
  return cat(arch_name(c.arch), "/", naming_scheme_name(c.scheme), "/",
             kernels::dtype_name(c.dtype));
}

std::vector<float> all_logits(const std::string& dir, const ModelConfig& c,
                              const std::vector<int32_t>& ids) {
  auto weights = ModelWeights::load(Checkpoint::open(dir), c);
  Model model(c, weights, 2);
  KvCache cache(c, int64_t(ids.size()));
  std::vector<float> logits(ids.size() * size_t(c.vocab_size));
  model.forward(ids, cache, logits.data(), true);
  return logits;
}

class LoaderRoundTrip : public ::testing::TestWithParam<Case> {};

TEST_P(LoaderRoundTrip, SameLogitsAsTheF32Twin) {
  const Case& k = GetParam();
  const ModelConfig c = test::tiny_config(k.arch);
  const test::TensorSet w = test::random_weights(c, k.scheme, 7);
  const std::string dir = test::make_temp_dir("ckpt"), twin = test::make_temp_dir("twin");
  test::WriteOptions opt;
  opt.matrix_dtype = k.dtype;
  const test::TensorSet decoded = test::write_checkpoint(dir, c, w, opt);
  test::write_checkpoint(twin, c, decoded);  // f32 copy of exactly what the file decodes to

  // Element-wise: the bound matrices read back as written.
  auto weights = ModelWeights::load(Checkpoint::open(dir), c);
  EXPECT_EQ(weights->scheme, k.scheme);
  TensorNames names{k.scheme};
  const std::vector<float>& q = decoded.values.at(names.attn_q(1));
  const WeightMatrix& wq = weights->layers[1].wq;
  EXPECT_EQ(wq.dtype, k.dtype);
  for (int64_t n = 0; n < wq.n; n += 3)
    for (int64_t col = 0; col < wq.k; col += 5)
      ASSERT_EQ(wq.at(n, col), q[size_t(n * wq.k + col)])
          << case_name(k) << " at " << n << "," << col;

  const std::vector<int32_t> ids = {5, 17, 3, 88, 42, 42, 9, 60, 1, 33};
  std::vector<float> got = all_logits(dir, c, ids), want = all_logits(twin, c, ids);
  EXPECT_TRUE(test::all_close(got.data(), want.data(), got.size(),
                              test::tolerance_for(DType::F32, test::Level::Model), case_name(k)));
}

INSTANTIATE_TEST_SUITE_P(AllSchemesAndDtypes, LoaderRoundTrip,
                         ::testing::Values(Case{Arch::Grok1, NamingScheme::HpcaiGrok1, DType::BF16},
                                           Case{Arch::Grok1, NamingScheme::HpcaiGrok1, DType::F16},
                                           Case{Arch::Grok1, NamingScheme::HpcaiGrok1, DType::I8},
                                           Case{Arch::Grok1, NamingScheme::HpcaiGrok1,
                                                DType::F8_E4M3},
                                           Case{Arch::Grok1, NamingScheme::SglangGrok, DType::BF16},
                                           Case{Arch::Grok2, NamingScheme::SglangGrok, DType::BF16},
                                           Case{Arch::Grok2, NamingScheme::SglangGrok, DType::F16},
                                           Case{Arch::Grok2, NamingScheme::SglangGrok, DType::I8},
                                           Case{Arch::Mixtral, NamingScheme::Mixtral, DType::BF16},
                                           Case{Arch::Mixtral, NamingScheme::Mixtral, DType::F16},
                                           Case{Arch::Mixtral, NamingScheme::Mixtral, DType::I8}),
                         [](const auto& info) {
                           std::string s = case_name(info.param);
                           for (char& ch : s)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return s;
                         });

// The logits of case k's checkpoint run in activations mode `mode` over ids, against its f32
// twin's: within the model bound of `bound`, and visibly not the f32 result.
void expect_mode_within(kernels::Activations mode, const Case& k, const std::vector<int32_t>& ids,
                        uint32_t seed, int64_t int8_groups, DType bound) {
  const ModelConfig c = test::tiny_config(k.arch);
  const test::TensorSet w = test::random_weights(c, k.scheme, seed);
  const std::string dir = test::make_temp_dir("ckpt"), twin = test::make_temp_dir("twin");
  test::WriteOptions opt;
  opt.matrix_dtype = k.dtype;
  opt.int8_groups = int8_groups;
  test::write_checkpoint(twin, c, test::write_checkpoint(dir, c, w, opt));
  const std::vector<float> want = all_logits(twin, c, ids);
  std::vector<float> got;
  {
    kernels::ScopedActivations scoped(mode);
    got = all_logits(dir, c, ids);
  }
  const std::string what = case_name(k) + " (" + kernels::activations_name(mode) + " x)";
  EXPECT_TRUE(test::all_close(got.data(), want.data(), got.size(),
                              test::tolerance_for(bound, test::Level::Model), what));
  EXPECT_FALSE(test::all_close(got.data(), want.data(), got.size(),
                               test::tolerance_for(DType::F32, test::Level::Model), what));
}

// Token ids of an n-token prompt.
std::vector<int32_t> prompt_ids(int32_t n) {
  std::vector<int32_t> ids;
  for (int32_t i = 0; i < n; ++i) ids.push_back((i * 37 + 11) % 89);
  return ids;
}

// The Bf16 activations mode (kernels/cpu/precision.h) on a 40-token prompt (past the decode
// path's 16 rows): within the bf16 model bound of the f32 twin, and visibly not the f32 result.
TEST(Bf16Activations, LogitsWithinTheBf16ModelBound) {
  if (!kernels::cpu_has_avx512_bf16()) GTEST_SKIP() << "no AVX512-BF16 on this CPU";
  kernels::ScopedIsa isa(kernels::Isa::Avx512);  // AMX, where present, would stay exact
  for (const Case k : {Case{Arch::Grok1, NamingScheme::HpcaiGrok1, DType::BF16},
                       Case{Arch::Grok1, NamingScheme::HpcaiGrok1, DType::I8},
                       Case{Arch::Grok2, NamingScheme::SglangGrok, DType::BF16},
                       Case{Arch::Mixtral, NamingScheme::Mixtral, DType::I8}})
    expect_mode_within(kernels::Activations::Bf16, k, prompt_ids(40), 7, 2, DType::BF16);
}

// The Int8 activations mode on a 12-token prompt (the decode path: x quantised to int8 blocks
// against packed int8 weights) and a 40-token one (the prefill path): within the int8 model bound
// of the f32 twin, and visibly not the f32 result. One scale group: d_model 32 in one group lets
// the K = 32 matrices pack (the decode path's layout) and meet the prefill path's 32 columns.
TEST(Int8Activations, LogitsWithinTheInt8ModelBound) {
  if (kernels::detected_isa() < kernels::Isa::Avx512) GTEST_SKIP() << "no AVX512-VNNI here";
  kernels::ScopedIsa isa(kernels::Isa::Avx512);
  for (const Case k : {Case{Arch::Grok1, NamingScheme::HpcaiGrok1, DType::I8},
                       Case{Arch::Mixtral, NamingScheme::Mixtral, DType::I8}})
    for (int32_t n : {12, 40})
      expect_mode_within(kernels::Activations::Int8, k, prompt_ids(n), 8, 1, DType::I8);
}

// A checkpoint with one defect must fail to load with a message containing every fragment.
void expect_load_error(const std::string& dir, const ModelConfig& c,
                       const std::vector<std::string>& fragments) {
  test::expect_error([&] { ModelWeights::load(Checkpoint::open(dir), c); }, fragments);
}

TEST(LoaderErrors, MissingTensor) {
  const ModelConfig c = test::tiny_config(Arch::Grok1);
  const test::TensorSet w = test::random_weights(c, NamingScheme::HpcaiGrok1, 1);
  const std::string dir = test::make_temp_dir("missing");
  test::WriteOptions opt;
  opt.omit = {"model.layers.1.moe_block.experts.2.linear_v.weight"};
  test::write_checkpoint(dir, c, w, opt);
  expect_load_error(dir, c,
                    {"model.layers.1.moe_block.experts.2.linear_v.weight", "missing", "[16, 32]"});
}

TEST(LoaderErrors, WrongShape) {
  const ModelConfig c = test::tiny_config(Arch::Grok1);
  test::TensorSet w = test::random_weights(c, NamingScheme::HpcaiGrok1, 1);
  const std::string name = "model.layers.0.attn.k_proj.weight";
  w.shapes[name] = {8, 32};
  w.values[name].resize(8 * 32);
  const std::string dir = test::make_temp_dir("shape");
  test::write_checkpoint(dir, c, w);
  expect_load_error(dir, c, {name, "model.safetensors", "[8, 32]", "expected [16, 32]"});
}

TEST(LoaderErrors, WrongDtypeAndMissingScales) {
  const ModelConfig c = test::tiny_config(Arch::Grok1);
  const test::TensorSet w = test::random_weights(c, NamingScheme::HpcaiGrok1, 1);
  // I8 without its scales.
  const std::string dir = test::make_temp_dir("scales");
  test::WriteOptions opt;
  opt.matrix_dtype = DType::I8;
  opt.omit = {"model.layers.0.attn.o_proj.weight_scale"};
  test::write_checkpoint(dir, c, w, opt);
  expect_load_error(dir, c, {"model.layers.0.attn.o_proj.weight", "weight_scale", "missing"});

  // A norm stored as I32.
  const std::string dir2 = test::make_temp_dir("dtype");
  test::write_checkpoint(dir2, c, w);
  auto file = SafetensorsFile::open(dir2 + "/model.safetensors");
  std::vector<TensorToWrite> tensors;
  std::vector<int32_t> ints(32, 1);
  for (const auto& [name, t] : file->tensors()) {
    if (name == "model.layers.1.pre_moe_norm.scale")
      tensors.push_back({name, DType::I32, t.shape, ints.data()});
    else
      tensors.push_back({name, t.dtype, t.shape, t.data});
  }
  const std::string dir3 = test::make_temp_dir("dtype3");
  std::filesystem::copy_file(dir2 + "/config.json", dir3 + "/config.json");
  write_safetensors(dir3 + "/model.safetensors", tensors);
  expect_load_error(dir3, c,
                    {"model.layers.1.pre_moe_norm.scale", "I32", "expected F32, BF16 or F16"});
}

TEST(LoaderErrors, TensorsTheConfigDoesNotUse) {
  // Grok-2 weights (with a shared MLP) under a config without one.
  ModelConfig c = test::tiny_config(Arch::Grok2);
  const test::TensorSet w = test::random_weights(c, NamingScheme::SglangGrok, 1);
  const std::string dir = test::make_temp_dir("extra");
  test::write_checkpoint(dir, c, w);
  c.shared_ffn = 0;
  c.residual_moe = false;
  expect_load_error(dir, c, {"not used", "mlp."});
}

TEST(LoaderErrors, MixtralNamesUnderAGrokConfig) {
  const ModelConfig mixtral = test::tiny_config(Arch::Mixtral);
  const std::string dir = test::make_temp_dir("mix");
  test::write_checkpoint(dir, mixtral, test::random_weights(mixtral, NamingScheme::Mixtral, 1));
  ModelConfig grok = test::tiny_config(Arch::Grok1);
  grok.tied_embeddings = false;
  expect_load_error(dir, grok, {"Mixtral names", "four norms"});
}

TEST(LoaderErrors, UnknownNamingScheme) {
  const std::string dir = test::make_temp_dir("names");
  std::vector<float> x(4, 1.0f);
  write_safetensors(dir + "/model.safetensors",
                    {{"transformer.wte.weight", DType::F32, {2, 2}, x.data()}});
  try {
    detect_naming_scheme(*Checkpoint::open(dir));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no known tensor naming scheme"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("model.layers.0.attn.q_proj.weight"), std::string::npos);
  }
}

}  // namespace
}  // namespace moescope
