// The moescope command line, run as a user runs it: outputs of the main commands, and for each
// class of bad input a non-zero exit with one line that names the file, tensor or field.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "engine/weights/safetensors.h"
#include "tests/common/test_paths.h"
#include "tests/app/cli_runner.h"
#include "tests/common/tiny_checkpoint.h"

namespace moescope {
namespace {

using test::CliRun;
using test::moescope;
using test::slurp;

namespace fs = std::filesystem;

std::string tiny_model() {
  return test::assets_dir() + "/tiny-grok1-random";
}

// One line on stderr, "moescope: error: ...", containing every fragment; exit code 1.
void expect_error(const CliRun& r, const std::vector<std::string>& fragments) {
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_EQ(r.err.rfind("moescope: error: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "not one line: " << r.err;
  for (const auto& f : fragments)
    EXPECT_NE(r.err.find(f), std::string::npos) << "'" << f << "' not in: " << r.err;
}

TEST(Cli, InfoPresetGrok1) {
  CliRun r = moescope({"info", "--preset", "grok-1"});
  ASSERT_EQ(r.rc, 0) << r.err;
  for (const char* s :
       {"315,684,820,992", "83,756,587,008", "631,369,641,984", "318.24 GB", "262,144 B bf16"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << " missing from:\n" << r.out;
  CliRun j = moescope({"info", "--preset", "grok-2", "--json"});
  ASSERT_EQ(j.rc, 0);
  auto doc = nlohmann::json::parse(j.out);
  EXPECT_EQ(doc["params_total"], 269515497472LL);
  EXPECT_EQ(doc["params_active_per_token"], 113822932992LL);
}

TEST(Cli, InfoOfAModelDirectory) {
  CliRun r = moescope({"info", "--model", tiny_model()});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("grok-1: 4 layers"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("checkpoint on disk"), std::string::npos) << r.out;
}

TEST(Cli, TokenizeAndDecode) {
  CliRun r = moescope({"tokenize", "--model", tiny_model(), "In the beginning"});
  ASSERT_EQ(r.rc, 0) << r.err;
  std::string ids = r.out.substr(0, r.out.find('\n'));
  CliRun d = moescope({"tokenize", "--model", tiny_model(), "--decode", ids});
  ASSERT_EQ(d.rc, 0) << d.err;
  EXPECT_EQ(d.out, "In the beginning\n");
}

TEST(Cli, TokenizeWithTheGrok1Tokenizer) {
  const std::string tok = test::shared_dir() + "/data/grok1/tokenizer.model";
  if (!test::file_exists(tok)) GTEST_SKIP() << tok << " not present";
  CliRun r = moescope({"tokenize", "--tokenizer", tok,
                       "The answer to life the universe and everything is of course"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "422 3033 356 1180 333 9072 360 2175 391 359 1805\n");
}

TEST(Cli, GenerateStreamsAfterThePrompt) {
  CliRun r = moescope({"generate", "--model", tiny_model(), "--prompt", "In the beginning",
                       "--max-tokens", "12", "--threads", "2"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out.rfind("In the beginning", 0), 0u) << r.out;
  EXPECT_GT(r.out.size(), std::string("In the beginning\n").size());
  EXPECT_NE(r.err.find("generated 12 tokens"), std::string::npos) << r.err;
  // Greedy is deterministic; a seeded sample is reproducible.
  EXPECT_EQ(moescope({"generate", "--model", tiny_model(), "--prompt", "In the beginning",
                      "--max-tokens", "12"})
                .out,
            r.out);
  CliRun s1 =
      moescope({"generate", "--model", tiny_model(), "--prompt", "And God said", "--max-tokens",
                "10", "--temperature", "0.9", "--top-p", "0.9", "--top-k", "50", "--seed", "5"});
  CliRun s2 =
      moescope({"generate", "--model", tiny_model(), "--prompt", "And God said", "--max-tokens",
                "10", "--temperature", "0.9", "--top-p", "0.9", "--top-k", "50", "--seed", "5"});
  ASSERT_EQ(s1.rc, 0) << s1.err;
  EXPECT_EQ(s1.out, s2.out);
}

TEST(Cli, EvalAndLogitsDump) {
  const std::string dir = test::make_temp_dir("eval");
  std::ofstream(dir + "/text.txt") << "In the beginning God created the heaven and the earth.";
  CliRun r = moescope({"eval", "--model", tiny_model(), "--text-file", dir + "/text.txt",
                       "--dump-logits", dir + "/logits.json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("perplexity"), std::string::npos);
  auto doc = nlohmann::json::parse(slurp(dir + "/logits.json"));
  ASSERT_EQ(doc["logits"].size(), doc["tokens"].size());
  EXPECT_EQ(doc["logits"][0].size(), 4096u);
}

// ---- Bad input --------------------------------------------------------------------------------

std::string copy_tiny_model(const std::string& tag) {
  const std::string dir = test::make_temp_dir(tag);
  for (const auto& e : fs::directory_iterator(tiny_model()))
    fs::copy_file(e.path(), dir + "/" + e.path().filename().string());
  return dir;
}

TEST(CliErrors, MissingModelDirectory) {
  expect_error(moescope({"generate", "--model", "/nonexistent/model", "--prompt", "x"}),
               {"/nonexistent/model", "not found"});
}

TEST(CliErrors, TruncatedSafetensors) {
  const std::string dir = copy_tiny_model("trunc");
  const std::string file = dir + "/model.safetensors";
  fs::resize_file(file, fs::file_size(file) / 2);
  expect_error(moescope({"generate", "--model", dir, "--prompt", "x"}), {"model.safetensors"});
}

TEST(CliErrors, GarbageHeader) {
  const std::string dir = copy_tiny_model("garbage");
  std::ofstream(dir + "/model.safetensors", std::ios::binary | std::ios::trunc)
      << std::string("\x10\x00\x00\x00\x00\x00\x00\x00{{{{garbage!!!!}", 24)
      << std::string(100, 'x');
  expect_error(moescope({"generate", "--model", dir, "--prompt", "x"}), {"model.safetensors"});
}

// A tiny random checkpoint with a defect; `bench` loads and checks every tensor.
CliRun bench_on(const std::string& dir) {
  return moescope(
      {"bench", "--model", dir, "--prompt-tokens", "4", "--gen-tokens", "1", "--repeat", "1"});
}

TEST(CliErrors, MissingTensorWrongShapeWrongDtype) {
  const ModelConfig c = test::tiny_config(Arch::Grok1);
  const test::TensorSet w = test::random_weights(c, NamingScheme::HpcaiGrok1, 3);
  {
    const std::string dir = test::make_temp_dir("cli-missing");
    test::WriteOptions opt;
    opt.omit = {"model.layers.1.attn.v_proj.weight"};
    test::write_checkpoint(dir, c, w, opt);
    expect_error(bench_on(dir), {"model.layers.1.attn.v_proj.weight", "missing"});
  }
  {
    test::TensorSet bad = w;
    bad.shapes["model.layers.0.moe_block.gate.weight"] = {5, 32};
    bad.values["model.layers.0.moe_block.gate.weight"].resize(5 * 32);
    const std::string dir = test::make_temp_dir("cli-shape");
    test::write_checkpoint(dir, c, bad);
    expect_error(bench_on(dir),
                 {"model.layers.0.moe_block.gate.weight", "[5, 32]", "expected [4, 32]"});
  }
  {
    const std::string dir = test::make_temp_dir("cli-dtype");
    test::WriteOptions opt;
    opt.matrix_dtype = kernels::DType::I8;
    opt.omit = {"model.embed_tokens.weight_scale"};
    test::write_checkpoint(dir, c, w, opt);
    expect_error(bench_on(dir), {"model.embed_tokens.weight", "I8", "weight_scale"});
  }
}

TEST(CliErrors, InconsistentHeadsAndUnknownArchitecture) {
  const std::string dir = copy_tiny_model("heads");
  auto config = nlohmann::json::parse(slurp(dir + "/config.json"));
  config["num_key_value_heads"] = 3;
  std::ofstream(dir + "/config.json", std::ios::trunc) << config.dump();
  expect_error(moescope({"generate", "--model", dir, "--prompt", "x"}),
               {"config.json", "num_key_value_heads (3)"});
  config["num_key_value_heads"] = 2;
  config["architectures"] = {"GPT2LMHeadModel"};
  std::ofstream(dir + "/config.json", std::ios::trunc) << config.dump();
  expect_error(moescope({"info", "--model", dir}),
               {"config.json", "GPT2LMHeadModel", "architectures"});
}

TEST(CliErrors, PromptLongerThanTheContext) {
  const std::string dir = test::make_temp_dir("long");
  std::ofstream out(dir + "/prompt.txt");
  for (int i = 0; i < 1500; ++i) out << "And the earth was without form, and void. ";
  out.close();
  expect_error(
      moescope({"generate", "--model", tiny_model(), "--prompt-file", dir + "/prompt.txt"}),
      {"context of 1024", "max_position_embeddings"});
}

TEST(CliErrors, UsageErrorsExitWithTwo) {
  CliRun r = moescope({"generate", "--bogus-option", "1"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("unknown option --bogus-option"), std::string::npos) << r.err;
  EXPECT_EQ(moescope({"frobnicate"}).rc, 2);
  EXPECT_EQ(moescope({"generate", "--max-tokens", "many", "--prompt", "x"}).rc, 2);
  EXPECT_EQ(moescope({"--help"}).rc, 0);
}

}  // namespace
}  // namespace moescope

namespace moescope {
namespace {

using test::slurp;

// CI runs .ci/run, which runs the README's test command: the two must not drift apart.
TEST(Readme, TestCommandIsTheOneCiRuns) {
  const std::string ci = slurp(test::source_dir() + "/.ci/run");
  const std::string marker = "# README test command:\n";
  const size_t at = ci.find(marker);
  ASSERT_NE(at, std::string::npos) << ".ci/run lacks the marker line";
  const size_t begin = at + marker.size();
  const std::string command = ci.substr(begin, ci.find('\n', begin) - begin);
  const std::string readme = slurp(test::source_dir() + "/README.md");
  EXPECT_NE(readme.find(command), std::string::npos) << "README.md does not contain: " << command;
}

}  // namespace
}  // namespace moescope
