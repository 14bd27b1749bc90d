// Options shared by several commands.
#pragma once

#include <string>

#include "app/cli/args.h"
#include "engine/sample/sampler.h"

namespace moescope::app {

// --threads N (default: all hardware threads); N must be >= 1.
int thread_option(Args& args);
// --isa NAME: the instruction set the CPU kernels use from now on (kernels/cpu/isa.h), at most
// what this CPU has (a UsageError names both otherwise). Without it, the kernels' choice stands
// (the widest the CPU has, or MOESCOPE_ISA's).
void isa_option(Args& args);
// --activations f32|bf16: what the CPU matmuls may round x to from now on
// (kernels/cpu/precision.h). Without it, MOESCOPE_ACTIVATIONS's choice stands (default f32).
void activations_option(Args& args);
// "bf16 (prefill matmuls of bf16/int8 weights)" or "f32", and whether this CPU can, for reports.
std::string activations_description();
// "amx (this CPU: amx; avx2 fma ...)": the kernels' level and what decided it, for reports.
std::string isa_description();
// --temperature, --top-k, --top-p, --seed.
SamplingParams sampling_options(Args& args);
// The whole file; throws moescope::Error naming it when unreadable.
std::string read_text_file(const std::string& path);

}  // namespace moescope::app
