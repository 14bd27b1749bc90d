#include "app/cli/common_options.h"

#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "engine/core/error.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/precision.h"

namespace moescope::app {

int thread_option(Args& args) {
  const int64_t hw = std::max(1u, std::thread::hardware_concurrency());
  const int64_t n = args.integer("threads", hw);
  if (n < 1 || n > 1024) throw UsageError("--threads must be between 1 and 1024");
  return int(n);
}

void isa_option(Args& args) {
  const std::optional<std::string> name = args.value("isa");
  if (!name) return;
  const std::optional<kernels::Isa> isa = kernels::parse_isa(*name);
  if (!isa)
    throw UsageError("--isa '" + *name + "' is not an instruction set (expected " +
                     kernels::isa_choices() + ")");
  if (*isa > kernels::detected_isa())
    throw UsageError("--isa " + *name + ": this CPU runs at most " +
                     kernels::isa_name(kernels::detected_isa()) + " (" +
                     kernels::cpu_feature_list() + ")");
  kernels::set_active_isa(*isa);
}

void activations_option(Args& args) {
  const std::optional<std::string> name = args.value("activations");
  if (!name) return;
  const std::optional<kernels::Activations> a = kernels::parse_activations(*name);
  if (!a)
    throw UsageError("--activations '" + *name + "' is not a choice (expected " +
                     kernels::activations_choices() + ")");
  kernels::set_activations(*a);
}

std::string activations_description() {
  const kernels::Activations asked = kernels::active_activations();
  if (asked == kernels::Activations::F32) return "f32";
  const bool bf16 = kernels::bf16_activations_effective();
  if (asked == kernels::Activations::Bf16)
    return bf16 ? "bf16 (prefill matmuls of bf16 and int8 weights round x to bf16)"
                : "bf16 asked, f32 used (needs AVX512-BF16 and the avx512 kernels)";
  if (!kernels::int8_activations_effective())
    return "int8 asked, f32 used (needs AVX512-VNNI and the avx512 kernels)";
  return bf16 ? "int8 (matmuls of int8 weights quantise x to int8 blocks; of bf16 weights, prefill "
                "rounds x to bf16)"
              : "int8 (matmuls of int8 weights quantise x to int8 blocks; others f32: no "
                "AVX512-BF16)";
}

std::string isa_description() {
  return std::string(kernels::isa_name(kernels::active_isa())) +
         " (this CPU: " + kernels::isa_name(kernels::detected_isa()) + "; " +
         kernels::cpu_feature_list() + ")";
}

SamplingParams sampling_options(Args& args) {
  SamplingParams s;
  s.temperature = float(args.number("temperature", 0.0));
  s.top_k = args.integer("top-k", 0);
  s.top_p = float(args.number("top-p", 1.0));
  s.seed = uint64_t(args.integer("seed", 42));
  return s;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open the text file");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace moescope::app
