// `moescope convert` as a user runs it: ckpt-0 to safetensors (int8 kept, or bf16), HF .bin ports
// to our layout and through the other naming schemes and back, Grok-2 TP files to merged shards,
// int8 quantisation. Each output is checked here against an independent copy of the same weights
// written by tests/reference/make_checkpoint_fixtures.py (not only by the command's own
// verification), and bad input fails with one line naming the file or option, leaving nothing
// behind. Also info --load's memory figures, and generate/tokenize with a ckpt-0 and a
// tiktoken tokenizer.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/convert/config_writer.h"
#include "engine/weights/checkpoint.h"
#include "tests/common/test_paths.h"

namespace moescope {
namespace {

namespace fs = std::filesystem;

struct CliRun {
  int rc = -1;
  std::string out, err;
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

CliRun moescope(const std::vector<std::string>& args) {
  static const std::string dir = test::make_temp_dir("convert-out");
  std::string cmd = quote(test::binary_dir() + "/moescope");
  for (const auto& a : args) cmd += " " + quote(a);
  cmd += " >" + dir + "/out 2>" + dir + "/err";
  int status = std::system(cmd.c_str());
  CliRun r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(dir + "/out");
  r.err = slurp(dir + "/err");
  return r;
}

void expect_error(const CliRun& r, const std::vector<std::string>& fragments) {
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_EQ(r.err.rfind("moescope: error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "not one line: " << r.err;
  for (const auto& f : fragments)
    EXPECT_NE(r.err.find(f), std::string::npos) << "'" << f << "' not in: " << r.err;
}

std::string fixture(const std::string& name) {
  return test::source_dir() + "/tests/reference/fixtures/" + name;
}

// Every tensor of want is in got under the same name with the same dtype, shape and bytes, and
// got has nothing else.
void expect_same_tensors(const std::string& got_dir, const std::string& want_dir) {
  auto got = Checkpoint::open(got_dir);
  auto want = Checkpoint::open(want_dir);
  ASSERT_EQ(got->names(), want->names()) << got_dir << " vs " << want_dir;
  for (const std::string& name : want->names()) {
    const TensorView* a = got->find(name);
    const TensorView* b = want->find(name);
    EXPECT_EQ(a->dtype, b->dtype) << name;
    EXPECT_EQ(a->shape, b->shape) << name;
    ASSERT_EQ(a->nbytes, b->nbytes) << name;
    EXPECT_EQ(std::memcmp(a->data, b->data, a->nbytes), 0) << name << " differs";
  }
}

TEST(Convert, Ckpt0ToSafetensorsKeepsInt8WithScales) {
  const std::string out = test::make_temp_dir("cv") + "/grok1-int8";
  CliRun r = moescope({"convert", "--from", fixture("ckpt0-tiny"), "--to", out, "--tokenizer",
                       fixture("tiktoken/tokenizer.tok.json")});
  ASSERT_EQ(r.rc, 0) << r.err;
  for (const char* s : {"Grok-1 JAX ckpt-0 (146 pickles)", "446 tensors in 1 file(s)",
                        "254 identical", "tokenizer.tok.json", "loads as   grok-1, 12 layers"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << " missing from:\n" << r.out;
  // Byte for byte what Python wrote from the same weights.
  expect_same_tensors(out, fixture("ckpt0-tiny-st"));
  EXPECT_TRUE(fs::exists(out + "/tokenizer.tok.json"));
  nlohmann::json config = nlohmann::json::parse(slurp(out + "/config.json"));
  EXPECT_EQ(config["architectures"][0], "Grok1ModelForCausalLM");
  EXPECT_EQ(config["num_hidden_layers"], 12);
  // Nothing but the target was created beside it.
  EXPECT_EQ(
      std::distance(fs::directory_iterator(fs::path(out).parent_path()), fs::directory_iterator()),
      1);
}

TEST(Convert, Ckpt0ToBf16EqualsTheHfPort) {
  const std::string out = test::make_temp_dir("cv") + "/grok1-bf16";
  CliRun r = moescope({"convert", "--from", fixture("ckpt0-tiny"), "--to", out, "--dtype", "bf16"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("254 within bf16 rounding"), std::string::npos) << r.out;
  // bf16(q * scale) as the JAX model dequantises, and f32 rounded to bf16: the .bin port.
  expect_same_tensors(out, fixture("hf-bin-tiny"));
}

TEST(Convert, HfPortThroughEveryNamingSchemeAndBack) {
  const std::string dir = test::make_temp_dir("cv");
  ASSERT_EQ(moescope({"convert", "--from", fixture("hf-bin-tiny"), "--to", dir + "/ours"}).rc, 0);
  expect_same_tensors(dir + "/ours", fixture("hf-bin-tiny"));
  for (const char* names : {"keyfan", "sglang"}) {
    SCOPED_TRACE(names);
    const std::string there = dir + "/" + names, back = dir + "/" + names + "-back";
    CliRun r = moescope({"convert", "--from", dir + "/ours", "--to", there, "--names", names});
    ASSERT_EQ(r.rc, 0) << r.err;
    auto ckpt = Checkpoint::open(there);
    const std::string q = std::string(names) == "keyfan"
                              ? "transformer.decoder_layer.10.multi_head_attention.query.weight"
                              : "model.layers.10.self_attn.q_proj.weight";
    EXPECT_TRUE(ckpt->find(q)) << q;
    EXPECT_FALSE(ckpt->find("model.layers.10.attn.q_proj.weight"));
    ASSERT_EQ(moescope({"convert", "--from", there, "--to", back, "--names", "hpcai"}).rc, 0);
    expect_same_tensors(back, dir + "/ours");
  }
  nlohmann::json sglang = nlohmann::json::parse(slurp(dir + "/sglang/config.json"));
  EXPECT_EQ(sglang["architectures"][0], "Grok1ForCausalLM");
}

TEST(Convert, Grok2PreshardedToMergedShards) {
  const std::string out = test::make_temp_dir("cv") + "/grok2";
  CliRun r =
      moescope({"convert", "--from", fixture("tiny-grok2"), "--to", out, "--shard-size", "100KB"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("TP-presharded safetensors"), std::string::npos) << r.out;
  nlohmann::json index = nlohmann::json::parse(slurp(out + "/model.safetensors.index.json"));
  std::set<std::string> files;
  for (auto& [name, file] : index["weight_map"].items()) files.insert(file.get<std::string>());
  EXPECT_GT(files.size(), 2u);
  for (const std::string& f : files) EXPECT_LE(fs::file_size(out + "/" + f), 110'000u) << f;
  // The merged tensors are the joined TP slices.
  expect_same_tensors(out, fixture("tiny-grok2"));
}

TEST(Convert, Int8QuantisationLoadsAndStaysWithinHalfAStep) {
  const std::string out = test::make_temp_dir("cv") + "/int8";
  CliRun r = moescope({"convert", "--from", fixture("hf-bin-tiny"), "--to", out, "--dtype", "int8",
                       "--groups", "4"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("192 within half an int8 step"), std::string::npos) << r.out;
  auto ckpt = Checkpoint::open(out);
  const TensorView* q = ckpt->find("model.layers.0.moe_block.experts.0.linear_1.weight");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->dtype, kernels::DType::I8);
  EXPECT_EQ(ckpt->find("model.layers.0.moe_block.experts.0.linear_1.weight_scale")->shape,
            (std::vector<int64_t>{32, 4}));
  EXPECT_EQ(ckpt->find("model.embed_tokens.weight")->dtype, kernels::DType::BF16);
  CliRun bad = moescope({"convert", "--from", fixture("hf-bin-tiny"), "--to", out + "-5", "--dtype",
                         "int8", "--groups", "5"});
  expect_error(bad, {"--groups 5 does not divide the 32 input features"});
  EXPECT_FALSE(fs::exists(out + "-5"));
}

TEST(Convert, BadInputLeavesNothingBehind) {
  const std::string dir = test::make_temp_dir("cv-bad");
  // A truncated ckpt-0 file.
  const std::string src = dir + "/ckpt-0";
  fs::copy(fixture("ckpt0-tiny"), src);
  fs::resize_file(src + "/tensor00050_000", 100);
  expect_error(moescope({"convert", "--from", src, "--to", dir + "/out"}),
               {"tensor00050_000", "truncated at byte offset 100"});
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1)
      << "a partial output was left in " << dir;
  // A forbidden global inside a .bin.
  fs::create_directories(dir + "/evil");
  fs::copy_file(fixture("torch/evil.bin"), dir + "/evil/pytorch_model.bin");
  fs::copy_file(fixture("hf-bin-tiny/config.json"), dir + "/evil/config.json");
  expect_error(moescope({"convert", "--from", dir + "/evil", "--to", dir + "/out"}),
               {"pytorch_model.bin", "'__builtin__.eval'", "not allowed"});
  // The target exists.
  fs::create_directories(dir + "/taken");
  std::ofstream(dir + "/taken/file") << "x";
  expect_error(moescope({"convert", "--from", fixture("hf-bin-tiny"), "--to", dir + "/taken"}),
               {dir + "/taken", "already exists"});
  EXPECT_EQ(slurp(dir + "/taken/file"), "x");
  ASSERT_EQ(moescope({"convert", "--from", fixture("hf-bin-tiny"), "--to", dir + "/taken",
                      "--overwrite", "--quiet"})
                .rc,
            0);
  EXPECT_FALSE(fs::exists(dir + "/taken/file"));
  // Names that cannot express the model.
  expect_error(moescope({"convert", "--from", fixture("tiny-grok2"), "--to", dir + "/k", "--names",
                         "keyfan"}),
               {"--names keyfan grok-1", "cannot name a grok-2 model"});
  // Usage mistakes exit with 2.
  EXPECT_EQ(moescope({"convert", "--to", dir + "/x"}).rc, 2);
  EXPECT_EQ(moescope({"convert", "--from", dir, "--to", dir + "/x", "--dtype", "fp4"}).rc, 2);
  EXPECT_EQ(moescope({"convert", "--from", dir, "--to", dir + "/x", "--names", "gguf"}).rc, 2);
  EXPECT_EQ(moescope({"convert", "--from", dir, "--to", dir + "/x", "--shard-size", "5PB"}).rc, 2);
  EXPECT_FALSE(fs::exists(dir + "/x"));
}

TEST(Convert, GeneratedConfigOfTheGrok1PresetReadsBack) {
  // A bare ckpt-0 gets the grok-1 preset; the config.json written for it must parse to the same.
  const ModelConfig preset = preset_config("grok-1");
  const ModelConfig back = parse_model_config(
      converted_config_json("", preset, NamingScheme::HpcaiGrok1), "generated config.json");
  EXPECT_EQ(back.arch, Arch::Grok1);
  EXPECT_EQ(back.vocab_size, preset.vocab_size);
  EXPECT_EQ(back.n_layers, preset.n_layers);
  EXPECT_EQ(back.n_heads, preset.n_heads);
  EXPECT_EQ(back.n_kv_heads, preset.n_kv_heads);
  EXPECT_EQ(back.expert_ffn, preset.expert_ffn);
  EXPECT_EQ(back.attn_logit_multiplier, preset.attn_logit_multiplier);
  EXPECT_EQ(back.embed_multiplier, preset.embed_multiplier);
  EXPECT_EQ(back.output_multiplier, preset.output_multiplier);
  EXPECT_EQ(back.attn_softcap, preset.attn_softcap);
  EXPECT_EQ(back.router_softcap, 0.0f);
  EXPECT_TRUE(back.tied_embeddings);
}

TEST(Convert, InfoLoadReportsTheResidentWeights) {
  CliRun r = moescope({"info", "--model", fixture("ckpt0-tiny"), "--load", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out)["loaded"];
  // The f32 embedding is mapped; 184,320 int8 weights are owned (1 byte each, transposed).
  EXPECT_EQ(j["mapped_bytes"], 2048 * 32 * 4);
  EXPECT_EQ(j["checkpoint_owned_bytes"], 184320);
  EXPECT_EQ(j["matrix_bytes_bf16_expanded"], 2 * 184320 + 2048 * 32 * 2);
  EXPECT_GT(j["peak_rss_bytes"].get<int64_t>(), 0);
  CliRun text = moescope({"info", "--model", fixture("ckpt0-tiny"), "--load"});
  ASSERT_EQ(text.rc, 0) << text.err;
  for (const char* s : {"146 weight file(s)", "mapped (file views)", "262,144 B",
                        "owned by checkpoint", "184,320 B", "RSS after loading"})
    EXPECT_NE(text.out.find(s), std::string::npos) << s << " missing from:\n" << text.out;
  expect_error(moescope({"info", "--model", fixture("ckpt0-tiny") + "-none", "--load"}),
               {"ckpt0-tiny-none"});
}

TEST(Convert, GenerateAndTokenizeWithCkpt0AndTiktoken) {
  const std::string tok = fixture("tiktoken/tokenizer.tok.json");
  CliRun r = moescope({"generate", "--model", fixture("ckpt0-tiny"), "--tokenizer", tok, "--prompt",
                       "Hello world", "--max-tokens", "4"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.rfind("Hello world", 0), 0u) << r.out;
  expect_error(moescope({"generate", "--model", fixture("ckpt0-tiny"), "--prompt", "Hi"}),
               {"ckpt0-tiny", "no tokenizer.tok.json or tokenizer.model", "--tokenizer"});
  CliRun t = moescope({"tokenize", "--tokenizer", tok, "Hello world"});
  ASSERT_EQ(t.rc, 0) << t.err;
  EXPECT_EQ(t.out, "222 320 296 650\n");  // tiktoken's ids (golden.json)
  CliRun d = moescope({"tokenize", "--tokenizer", tok, "--decode", "222 320 296 650 2"});
  EXPECT_EQ(d.out, "Hello world<|eos|>\n");
}

}  // namespace
}  // namespace moescope
