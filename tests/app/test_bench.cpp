// `moescope bench` on the synthetic presets as a user runs it: the JSON carries medians with
// their spread, the weight bytes a decoded token reads (checked against hand arithmetic), the
// per-op breakdown with the calls the forward pass must make, rates against given ceilings; and
// bad options exit 2 naming the option. No timing is asserted: only that rates are sane.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "inspectors/analysis/ceilings.h"
#include "kernels/cpu/isa.h"
#include "tests/app/cli_runner.h"
#include "tests/common/test_paths.h"

namespace moescope {
namespace {

using test::CliRun;
using test::moescope;

// A tiny run of a preset: 16 prompt tokens, 4 decoded, one repetition.
CliRun quick_bench(const std::string& dtype, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {
      "bench",           "--preset", "tinyA",        "--dtype", dtype,       "--repeat", "1",
      "--prompt-tokens", "16",       "--gen-tokens", "4",       "--threads", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return moescope(args);
}

void expect_sane(const nlohmann::json& stat) {
  const double med = stat["median"], lo = stat["min"], hi = stat["max"];
  EXPECT_GT(lo, 0);
  EXPECT_LE(lo, med);
  EXPECT_LE(med, hi);
  EXPECT_LT(hi, 1e9);  // tokens/s: a broken clock or a divide by ~0 shows here
}

TEST(Bench, PresetJsonIsSane) {
  const std::string cfile = test::make_temp_dir("bench") + "/ceilings.json";
  inspectors::MachineCeilings ceil;
  ceil.read_gbps_one_thread = 10;
  ceil.read_gbps = 16;
  ceil.threads = 2;
  ceil.gemm_gflops = 100;
  inspectors::save_ceilings(cfile, ceil);

  CliRun r = quick_bench("bf16", {"--json", "--ceilings-file", cfile});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["model"], "tinyA");
  EXPECT_EQ(j["dtype"], "bf16");
  EXPECT_EQ(j["threads"], 1);
  EXPECT_EQ(j["prompt_tokens"], 16);
  EXPECT_EQ(j["gen_tokens"], 4);
  EXPECT_EQ(j["isa"], j["cpu_isa"]);  // the widest this CPU has, unless asked otherwise
  expect_sane(j["prefill"]["tokens_per_s"]);
  expect_sane(j["decode"]["tokens_per_s"]);

  // Per layer: q 256x256, k and v 64x256, o 256x256, 2 experts x 3 x 512x256 in bf16, router
  // 8x256 f32; once the tied output 2048x256 bf16.
  const int64_t layer = 2 * (2 * 256 * 256 + 2 * 64 * 256 + 2 * 3 * 512 * 256) + 4 * 8 * 256;
  EXPECT_EQ(j["decode"]["weight_bytes_per_token"], 4 * layer + 2 * 2048 * 256);
  const double dc = j["decode"]["tokens_per_s"]["median"];
  EXPECT_NEAR(j["decode"]["achieved_gbps"].get<double>(),
              4.0 * layer * dc / 1e9 + 2 * 2048 * 256 * dc / 1e9, 1e-9 * dc);
  // One thread: the one-thread read bandwidth; GEMM scaled from the 2 threads it was measured on.
  EXPECT_EQ(j["decode"]["read_gbps"], 10.0);
  EXPECT_EQ(j["prefill"]["gemm_peak_gflops"], 50.0);
  EXPECT_NEAR(j["decode"]["fraction_of_read"].get<double>(),
              j["decode"]["achieved_gbps"].get<double>() / 10.0, 1e-12);
  EXPECT_TRUE(j["ceilings_measured"].get<bool>());

  // Decode: every step runs both selected experts of every layer once; the output head once.
  const auto& ops = j["breakdown"]["decode"]["ops"];
  ASSERT_FALSE(ops.empty());
  double share = 0;
  bool saw_gate = false, saw_head = false;
  for (const auto& o : ops) {
    share += o["share"].get<double>();
    EXPECT_GE(o["us_per_token"].get<double>(), 0) << o;
    if (o["op"] == "moe.expert.gate_up_proj") {
      saw_gate = true;
      EXPECT_EQ(o["calls_per_token"], 2.0 * 4);
    }
    if (o["op"] == "output.lm_head") {
      saw_head = true;
      EXPECT_EQ(o["calls_per_token"], 1.0);
    }
  }
  EXPECT_TRUE(saw_gate && saw_head) << ops;
  EXPECT_NEAR(share, 1.0, 1e-9);
  EXPECT_EQ(j["breakdown"]["prefill"]["tokens"], 16);
  EXPECT_LE(j["breakdown"]["decode"]["op_us_per_token"].get<double>(),
            j["breakdown"]["decode"]["wall_us_per_token"].get<double>());
}

TEST(Bench, Int8AndTextOutput) {
  const std::string none = test::make_temp_dir("bench") + "/none.json";
  CliRun r = quick_bench("int8", {"--int8-groups", "4", "--ceilings-file", none});
  ASSERT_EQ(r.rc, 0) << r.err;
  for (const char* s : {"tinyA, int8 weights (synthetic)", "prefill 16 tokens", "decode  4 tokens",
                        "decode time per token by op", "moe.expert", "no ceilings stored"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << " missing from:\n" << r.out;
}

// --measure-read: the read bandwidth measured after the runs, decode's fraction of it, and the
// probe's array (256 MiB here) left out of peak RSS (tinyA's run alone stays near 40 MiB).
TEST(Bench, MeasureReadComparesDecodeWithTheBandwidthOfTheseMinutes) {
  CliRun r =
      quick_bench("int8", {"--json", "--no-breakdown", "--measure-read", "--array-mb", "256"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const double read = j["decode"]["read_gbps_after"];
  EXPECT_GT(read, 0.1);
  EXPECT_LT(read, 1e4);
  EXPECT_NEAR(j["decode"]["fraction_of_read_after"].get<double>(),
              j["decode"]["achieved_gbps"].get<double>() / read, 1e-12);
  EXPECT_LT(j["peak_rss_bytes"].get<int64_t>(), int64_t(200) << 20);

  CliRun text = quick_bench("int8", {"--no-breakdown", "--measure-read", "--array-mb", "16"});
  ASSERT_EQ(text.rc, 0) << text.err;
  EXPECT_NE(text.out.find("read bandwidth measured just after, 1 thread:"), std::string::npos)
      << text.out;
  CliRun small = quick_bench("int8", {"--measure-read", "--array-mb", "8"});
  EXPECT_EQ(small.rc, 2);
  EXPECT_NE(small.err.find("--array-mb"), std::string::npos) << small.err;
}

TEST(Bench, BadOptionsExit2NamingTheOption) {
  CliRun preset = moescope({"bench", "--preset", "tinyD"});
  EXPECT_EQ(preset.rc, 2);
  EXPECT_NE(preset.err.find("--preset 'tinyD'"), std::string::npos) << preset.err;
  CliRun dtype = moescope({"bench", "--preset", "tinyA", "--dtype", "fp4"});
  EXPECT_EQ(dtype.rc, 2);
  EXPECT_NE(dtype.err.find("--dtype 'fp4'"), std::string::npos) << dtype.err;
  CliRun groups = moescope({"bench", "--preset", "tinyA", "--dtype", "int8", "--int8-groups", "3"});
  EXPECT_EQ(groups.rc, 2);
  EXPECT_NE(groups.err.find("--int8-groups 3"), std::string::npos) << groups.err;
  CliRun both = moescope({"bench", "--preset", "tinyA", "--model", "x"});
  EXPECT_EQ(both.rc, 2);
  EXPECT_NE(both.err.find("--preset and --model"), std::string::npos) << both.err;
  CliRun isa = moescope({"bench", "--preset", "tinyA", "--isa", "avx1024"});
  EXPECT_EQ(isa.rc, 2);
  EXPECT_NE(isa.err.find("--isa 'avx1024'"), std::string::npos) << isa.err;
  EXPECT_NE(isa.err.find("portable, avx2, avx512 or amx"), std::string::npos) << isa.err;
}

// --isa chooses the kernels' instruction set for the run, and the output says which ran.
TEST(Bench, IsaOptionChoosesTheKernels) {
  CliRun r = quick_bench("bf16", {"--isa", "portable", "--json", "--no-breakdown"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["isa"], "portable");
  expect_sane(j["prefill"]["tokens_per_s"]);
  CliRun text = quick_bench("bf16", {"--isa", "portable", "--no-breakdown"});
  EXPECT_NE(text.out.find("kernels: portable (this CPU: "), std::string::npos) << text.out;
}

// MOESCOPE_ISA naming no instruction set stops every command before it starts.
TEST(Bench, UnknownMoescopeIsaIsAnError) {
  setenv("MOESCOPE_ISA", "sse9", 1);
  CliRun r = moescope({"info", "--preset", "grok-1"});
  unsetenv("MOESCOPE_ISA");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("MOESCOPE_ISA=sse9: expected portable, avx2, avx512 or amx"),
            std::string::npos)
      << r.err;
}

// --activations: an unknown choice is a usage error naming it, and so is MOESCOPE_ACTIVATIONS's
// (for every command); bf16 is reported as used where the CPU has AVX512-BF16 and as asked but
// not used elsewhere, int8 likewise with AVX512-VNNI, and the JSON says which mode ran.
TEST(Bench, ActivationsOption) {
  CliRun bad = moescope({"bench", "--preset", "tinyA", "--activations", "fp8"});
  EXPECT_EQ(bad.rc, 2);
  EXPECT_NE(bad.err.find("--activations 'fp8' is not a choice (expected f32, bf16 or int8)"),
            std::string::npos)
      << bad.err;
  setenv("MOESCOPE_ACTIVATIONS", "int4", 1);
  CliRun env = moescope({"info", "--preset", "grok-1"});
  unsetenv("MOESCOPE_ACTIVATIONS");
  EXPECT_EQ(env.rc, 2);
  EXPECT_NE(env.err.find("MOESCOPE_ACTIVATIONS=int4: expected f32, bf16 or int8"),
            std::string::npos)
      << env.err;

  CliRun r = quick_bench("bf16", {"--activations", "bf16", "--json", "--no-breakdown"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["activations"], kernels::cpu_has_avx512_bf16() ? "bf16" : "f32");
  expect_sane(j["prefill"]["tokens_per_s"]);
  CliRun text = quick_bench("bf16", {"--activations", "bf16", "--no-breakdown"});
  EXPECT_NE(text.out.find(kernels::cpu_has_avx512_bf16() ? "activations: bf16 (prefill matmuls"
                                                         : "activations: bf16 asked, f32 used"),
            std::string::npos)
      << text.out;
  CliRun i8 = quick_bench("int8", {"--activations", "int8", "--json", "--no-breakdown"});
  ASSERT_EQ(i8.rc, 0) << i8.err;
  const bool vnni = kernels::detected_isa() >= kernels::Isa::Avx512;
  EXPECT_EQ(nlohmann::json::parse(i8.out)["activations"], !vnni ? "f32"
                                                          : kernels::cpu_has_avx512_bf16()
                                                              ? "int8"
                                                              : "int8 (bf16 weights f32)");
  CliRun i8_text = quick_bench("int8", {"--activations", "int8", "--no-breakdown"});
  EXPECT_NE(i8_text.out.find(vnni ? "activations: int8 (matmuls of int8 weights quantise"
                                  : "activations: int8 asked, f32 used"),
            std::string::npos)
      << i8_text.out;
  CliRun f32 = quick_bench("bf16", {"--no-breakdown"});
  EXPECT_NE(f32.out.find("activations: f32"), std::string::npos) << f32.out;
}

}  // namespace
}  // namespace moescope
