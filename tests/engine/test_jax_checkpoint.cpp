// Grok-1's JAX ckpt-0 directory: the file order of grok-architecture.md 4.1 for the real 64
// layers; a tiny 12-layer ckpt-0 (tests/reference/fixtures/ckpt0-tiny, pickles written by numpy
// with QuantizedWeight8bit from __main__) exposes exactly the tensors that Python wrote
// independently as safetensors (ckpt0-tiny-st: hpcai names, [out, in], int8 + scales), gives
// the same logits as that copy and, within bf16 rounding, as the bf16 HF port of the same
// weights; int8 stays 1 byte per weight in memory; and every damaged directory is refused
// naming the file, the parameter and what was expected.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "engine/model/load_model.h"
#include "engine/model/model.h"
#include "engine/weights/checkpoint.h"
#include "engine/weights/checkpoint_config.h"
#include "engine/weights/jax_checkpoint.h"
#include "engine/weights/safetensors.h"
#include "engine/weights/transpose.h"
#include "tests/common/expect_error.h"
#include "tests/common/test_paths.h"
#include "tests/common/tolerance.h"

namespace moescope {
namespace {

namespace fs = std::filesystem;
using kernels::DType;
using test::expect_error;

std::string fixture(const std::string& name) {
  return test::source_dir() + "/tests/reference/fixtures/" + name;
}

// A writable copy of the tiny ckpt-0 (146 files) under a fresh temp dir.
std::string copy_ckpt0(const std::string& tag, const std::string& sub = "ckpt-0") {
  const fs::path dir = fs::path(test::make_temp_dir(tag)) / sub;
  fs::create_directories(dir);
  for (const auto& e : fs::directory_iterator(fixture("ckpt0-tiny")))
    fs::copy_file(e.path(), dir / e.path().filename());
  return dir.string();
}

TEST(JaxParamOrder, MatchesTheReleaseFileNumbers) {
  const std::vector<JaxParam> p = jax_param_order(64);
  ASSERT_EQ(p.size(), 770u);
  EXPECT_EQ(p[0].path(), "language_model/in_out_embed/embeddings");
  EXPECT_EQ(p[1].path(), "language_model/rms_norm/scale");
  // Layers in string order: 0 = files 2-13, 1 = 14-25, 10 = 26-37, 2 = 146-157, 63 = 722-733,
  // 7 = 734, 8 = 746, 9 = 758-769 (grok-architecture.md 4.1).
  const std::pair<size_t, int64_t> first_file[] = {{2, 0},    {14, 1},  {26, 10}, {146, 2},
                                                   {722, 63}, {734, 7}, {746, 8}, {758, 9}};
  for (auto [file, layer] : first_file) {
    EXPECT_EQ(p[file].layer, layer) << "file " << file;
    EXPECT_EQ(p[file].role, JaxRole::MoeGate) << "file " << file;
    EXPECT_EQ(p[file + 11].role, JaxRole::Router) << "file " << file + 11;
  }
  const char* within[] = {"moe/linear",
                          "moe/linear_1",
                          "moe/linear_v",
                          "multi_head_attention/key",
                          "multi_head_attention/linear",
                          "multi_head_attention/query",
                          "multi_head_attention/value",
                          "rms_norm",
                          "rms_norm_1",
                          "rms_norm_2",
                          "rms_norm_3",
                          "router"};
  for (size_t i = 0; i < 12; ++i)
    EXPECT_EQ(p[2 + i].module, std::string("transformer/decoder_layer_0/") + within[i]);
  // The two 24.7 kB files of the HF listing: decoder_layer_1/rms_norm and rms_norm_3.
  EXPECT_EQ(p[21].path(), "transformer/decoder_layer_1/rms_norm/scale");
  EXPECT_EQ(p[24].path(), "transformer/decoder_layer_1/rms_norm_3/scale");
  EXPECT_EQ(p[769].path(), "transformer/decoder_layer_9/router/w");
  EXPECT_EQ(jax_file_name(12), "tensor00012_000");
  EXPECT_EQ(jax_file_name(769), "tensor00769_000");
}

TEST(Transpose, MatchesTheNaiveTransposeForEveryShapeAndElementSize) {
  std::mt19937 rng(3);
  // Edges of the 16 x 16 SIMD blocks and 64 x 64 tiles, and one matrix large enough for threads.
  const std::pair<int64_t, int64_t> shapes[] = {{1, 1},   {1, 50},    {50, 1},     {16, 16},
                                                {17, 33}, {64, 64},   {65, 130},   {100, 3},
                                                {3, 100}, {300, 515}, {3000, 3072}};
  for (auto [rows, cols] : shapes)
    for (size_t el : {1, 2, 4}) {
      if (el > 1 && rows * cols > 1'000'000) continue;
      std::vector<uint8_t> src(size_t(rows * cols) * el + 1), dst(size_t(rows * cols) * el);
      for (auto& b : src) b = uint8_t(rng());
      // Unaligned source, as a pickle may place it.
      weights_detail::transpose(src.data() + 1, dst.data(), rows, cols, el);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
          ASSERT_EQ(
              std::memcmp(&dst[size_t(c * rows + r) * el], &src[1 + size_t(r * cols + c) * el], el),
              0)
              << rows << "x" << cols << " elem " << el << " at " << r << "," << c;
    }
}

TEST(JaxCheckpoint, TensorsEqualTheIndependentSafetensorsCopy) {
  ASSERT_TRUE(is_jax_checkpoint_dir(fixture("ckpt0-tiny")));
  auto jax = Checkpoint::open(fixture("ckpt0-tiny"));
  auto st = Checkpoint::open(fixture("ckpt0-tiny-st"));
  EXPECT_EQ(jax->files().size(), 146u);
  ASSERT_EQ(jax->names(), st->names());
  // 12 layers x (4 attention + 3 x 4 experts) int8 matrices, each with its scales.
  EXPECT_EQ(jax->names().size(), 2 + 12 * (4 + 4 + 1 + 12) + 12 * 16);
  for (const std::string& name : st->names()) {
    const TensorView* a = jax->find(name);
    const TensorView* b = st->find(name);
    ASSERT_TRUE(a) << name;
    EXPECT_EQ(a->dtype, b->dtype) << name;
    EXPECT_EQ(a->shape, b->shape) << name;
    ASSERT_EQ(a->nbytes, b->nbytes) << name;
    EXPECT_EQ(std::memcmp(a->data, b->data, a->nbytes), 0) << name << " differs";
  }
  // Expert down projections and the o-projection carry G = 8 groups along their input.
  EXPECT_EQ(jax->find("model.layers.3.moe_block.experts.1.linear_1.weight_scale")->shape,
            (std::vector<int64_t>{32, 8}));
  EXPECT_EQ(jax->find("model.layers.3.attn.o_proj.weight_scale")->shape,
            (std::vector<int64_t>{32, 8}));
  EXPECT_EQ(jax->find("model.layers.3.attn.q_proj.weight")->dtype, DType::I8);
}

std::vector<float> prompt_logits(const LoadedModel& m, const std::vector<int32_t>& ids) {
  Model model(m.config, m.weights, 2);
  KvCache cache(m.config, int64_t(ids.size()));
  std::vector<float> logits(ids.size() * size_t(m.config.vocab_size));
  model.forward(ids, cache, logits.data(), true);
  return logits;
}

template <typename T>
std::vector<T> golden(const SafetensorsFile& f, const std::string& name) {
  const TensorView* t = f.find(name);
  if (!t) throw std::runtime_error(f.path() + ": no tensor " + name);
  const T* p = static_cast<const T*>(t->data);
  return std::vector<T>(p, p + t->numel());
}

// tests/reference/golden/ckpt0-tiny.safetensors: grok_reference.py (float64) on the exact
// dequantised weights (logits_int8) and on the bf16 port's weights (logits_bf16_port).
TEST(JaxCheckpoint, SameLogitsAsTheSafetensorsCopyAndTheReference) {
  auto g =
      SafetensorsFile::open(test::source_dir() + "/tests/reference/golden/ckpt0-tiny.safetensors");
  const std::vector<int32_t> ids = golden<int32_t>(*g, "prompt_ids");
  const LoadedModel jax = load_model(fixture("ckpt0-tiny"), false);
  const LoadedModel st = load_model(fixture("ckpt0-tiny-st"), false);
  const LoadedModel port = load_model(fixture("hf-bin-tiny"), false);
  const std::vector<float> a = prompt_logits(jax, ids);
  const std::vector<float> b = prompt_logits(st, ids);
  const std::vector<float> c = prompt_logits(port, ids);
  const auto f32 = test::tolerance_for(DType::F32, test::Level::Model);
  EXPECT_TRUE(test::all_close(a.data(), b.data(), a.size(), f32, "ckpt-0 vs safetensors copy"));
  // int8 with scales applied on the fly = the exactly dequantised weights.
  const std::vector<float> want_int8 = golden<float>(*g, "logits_int8");
  ASSERT_EQ(want_int8.size(), a.size());
  EXPECT_TRUE(test::all_close(a.data(), want_int8.data(), a.size(), f32, "ckpt-0 vs reference"));
  // The bf16 HF port of the same weights (torch .bin) against the reference on its weights.
  const std::vector<float> want_port = golden<float>(*g, "logits_bf16_port");
  EXPECT_TRUE(test::all_close(c.data(), want_port.data(), c.size(), f32, "bf16 port vs reference"));
  float max_abs = 0;
  for (float v : a) max_abs = std::max(max_abs, std::fabs(v));
  EXPECT_GT(max_abs, 0.5f) << "logits too flat to compare";
}

TEST(JaxCheckpoint, Int8StaysOneBytePerWeight) {
  const LoadedModel m = load_model(fixture("ckpt0-tiny"), false);
  const ModelWeights& w = *m.weights;
  const ModelConfig& c = m.config;
  const size_t attn = size_t(c.d_model * c.head_dim * (2 * c.n_heads + 2 * c.n_kv_heads));
  const size_t experts = size_t(3 * c.n_experts * c.d_model * c.expert_ffn);
  const size_t int8 = size_t(c.n_layers) * (attn + experts);
  const size_t embed = size_t(c.vocab_size * c.d_model) * 4;
  // The embedding is a view into its pickle; the int8 matrices are owned (transposed), 1 byte
  // each; expanded to bf16 they would take twice as much.
  EXPECT_EQ(w.mapped_bytes, embed);
  EXPECT_EQ(w.checkpoint_owned_bytes, int8);
  EXPECT_EQ(w.matrix_bytes, int8 + embed);
  EXPECT_EQ(w.bf16_expanded_bytes, 2 * int8 + embed / 2);
  // The checkpoint owns the int8 matrices, their bf16 scales [out, G] and the transposed f32
  // routers; nothing else was copied.
  size_t scales = 0;
  for (const std::string& name : m.checkpoint->names())
    if (name.size() > 6 && name.compare(name.size() - 6, 6, "_scale") == 0)
      scales += m.checkpoint->find(name)->nbytes;
  EXPECT_EQ(scales, 12u * 2 * (32 + 16 + 16 + 32 * 8 + 4 * (32 + 32 + 32 * 8)));
  const size_t routers = size_t(c.n_layers * c.n_experts * c.d_model) * 4;
  // Norm vectors that the pickle put at an offset f32 cannot be read from are copied.
  size_t realigned = 0;
  for (const std::string& name : m.checkpoint->names()) {
    const TensorView* t = m.checkpoint->find(name);
    if (t->owned && t->shape.size() == 1) realigned += t->nbytes;
  }
  EXPECT_LE(realigned, size_t(1 + 4 * c.n_layers) * size_t(c.d_model) * 4);
  EXPECT_EQ(m.checkpoint->owned_bytes(), int8 + routers + scales + realigned);
}

TEST(JaxCheckpoint, NoConfigMeansTheGrok1Preset) {
  const std::string dir = copy_ckpt0("jax-noconfig");
  fs::remove(fs::path(dir) / "config.json");
  EXPECT_EQ(checkpoint_config(dir).n_layers, 64);
  EXPECT_NE(checkpoint_config(dir).name.find("grok-1 preset"), std::string::npos);
  // 146 files are not the 770 of the real model: the first missing one is named.
  expect_error([&] { Checkpoint::open(dir); },
               {"tensor00146_000", "transformer/decoder_layer_2/moe/linear", "is missing",
                "64 layers", "grok-1 preset", "770 files"});
}

TEST(JaxCheckpoint, TokenizerFromTheDirectoryAboveAndByFlag) {
  const std::string dir = copy_ckpt0("jax-tok", "checkpoints/ckpt-0");
  const fs::path top = fs::path(dir).parent_path().parent_path();
  EXPECT_EQ(find_checkpoint_tokenizer(dir), "");
  expect_error([&] { load_model(dir, true); },
               {dir, "no tokenizer.tok.json or tokenizer.model", "--tokenizer"});
  fs::copy_file(fixture("tiktoken/tokenizer.tok.json"), top / "tokenizer.tok.json");
  EXPECT_EQ(find_checkpoint_tokenizer(dir), (top / "tokenizer.tok.json").string());
  const LoadedModel m = load_model(dir, true);
  ASSERT_TRUE(m.tokenizer);
  EXPECT_EQ(m.tokenizer->kind(), "tiktoken");
  const LoadedModel by_flag =
      load_model(fixture("ckpt0-tiny"), true, fixture("tiktoken/tokenizer.tok.json"));
  EXPECT_EQ(by_flag.tokenizer->kind(), "tiktoken");
}

TEST(JaxCheckpoint, DamagedDirectoriesAreRefused) {
  {
    const std::string dir = copy_ckpt0("jax-missing");
    fs::remove(fs::path(dir) / "tensor00077_000");
    expect_error([&] { Checkpoint::open(dir); },
                 {"tensor00077_000", "is missing", "12 layers", "146 files"});
  }
  {
    // Two files swapped (layer 0's gate and key projections): shapes betray the order.
    const std::string dir = copy_ckpt0("jax-swap");
    const fs::path a = fs::path(dir) / "tensor00002_000", b = fs::path(dir) / "tensor00005_000";
    fs::rename(a, fs::path(dir) / "tmp");
    fs::rename(b, a);
    fs::rename(fs::path(dir) / "tmp", b);
    expect_error([&] { Checkpoint::open(dir); },
                 {"tensor00002_000", "transformer/decoder_layer_0/moe/linear/w", "[32, 16]",
                  "expected [4, 32, 32]", "expert gate projections"});
  }
  {
    const std::string dir = copy_ckpt0("jax-extra");
    fs::copy_file(fs::path(dir) / "tensor00001_000", fs::path(dir) / "tensor00146_000");
    expect_error([&] { Checkpoint::open(dir); }, {"tensor00146_000", "146 files"});
  }
  {
    const std::string dir = copy_ckpt0("jax-host");
    fs::copy_file(fs::path(dir) / "tensor00001_000", fs::path(dir) / "tensor00001_001");
    expect_error([&] { Checkpoint::open(dir); }, {"tensor00001_001", "host 001", "single-host"});
  }
  {
    // A forbidden pickle in place of a tensor file.
    const std::string dir = copy_ckpt0("jax-evil");
    fs::copy_file(fixture("pickles/os_system.pkl"), fs::path(dir) / "tensor00009_000",
                  fs::copy_options::overwrite_existing);
    expect_error([&] { Checkpoint::open(dir); },
                 {"tensor00009_000", "byte offset", "'posix.system'", "not allowed"});
  }
  {
    // A norm where a matrix belongs, and a matrix where a norm belongs.
    const std::string dir = copy_ckpt0("jax-kind");
    const fs::path norm = fs::path(dir) / "tensor00009_000",
                   mat = fs::path(dir) / "tensor00006_000";
    fs::copy_file(norm, fs::path(dir) / "keep");
    fs::copy_file(norm, mat, fs::copy_options::overwrite_existing);
    expect_error([&] { Checkpoint::open(dir); },
                 {"tensor00006_000", "multi_head_attention/linear/w", "F32 [32]",
                  "expected [32, 32]", "attention output projection"});
    fs::copy_file(fixture("ckpt0-tiny/tensor00006_000"), mat, fs::copy_options::overwrite_existing);
    fs::copy_file(mat, norm, fs::copy_options::overwrite_existing);
    expect_error([&] { Checkpoint::open(dir); },
                 {"tensor00009_000", "decoder_layer_0/rms_norm/scale", "QuantizedWeight8bit",
                  "expected a numpy array"});
  }
}

TEST(JaxCheckpoint, TruncatedFilesNameTheFileAndTheByteOffset) {
  const std::string dir = copy_ckpt0("jax-cut");
  for (const char* name : {"tensor00000_000", "tensor00002_000", "tensor00013_000"}) {
    const fs::path path = fs::path(dir) / name;
    const fs::path keep = fs::path(dir) / "keep";
    fs::copy_file(path, keep, fs::copy_options::overwrite_existing);
    const uintmax_t size = fs::file_size(path);
    for (uintmax_t cut : {uintmax_t(1), uintmax_t(40), size / 2, size - 1}) {
      SCOPED_TRACE(std::string(name) + " cut at " + std::to_string(cut));
      fs::resize_file(path, cut);
      expect_error([&] { Checkpoint::open(dir); },
                   {path.string(), "truncated at byte offset " + std::to_string(cut)});
      fs::copy_file(keep, path, fs::copy_options::overwrite_existing);
    }
  }
  fs::remove(fs::path(dir) / "keep");
  EXPECT_NO_THROW(Checkpoint::open(dir));
}

}  // namespace
}  // namespace moescope
