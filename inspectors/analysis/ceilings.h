// The machine's ceilings that achieved op throughput is compared against: memory read
// bandwidth (one thread and all threads) and a GEMM rate, measured once by
// `moescope bench --ceilings` and stored as JSON in the user's data directory:
//   $XDG_DATA_HOME/moescope/ceilings.json, or ~/.local/share/moescope/ceilings.json
// (XDG Base Directory spec: XDG_DATA_HOME when set to an absolute path).
// Units: GB/s = 10^9 bytes per second, GFLOP/s = 10^9 floating-point operations per second.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace moescope::inspectors {

struct MachineCeilings {
  double read_gbps_one_thread = 0;  // streaming read of a large array, one thread
  double read_gbps = 0;             // the same with `threads` threads
  int32_t threads = 0;
  double gemm_gflops = 0;  // the F32 matmul kernel, y[T, N] = x[T, K] W^T
  // The same with BF16 weights (the AMX path where the CPU has it); 0 = not measured (files
  // written before it was).
  double gemm_bf16_gflops = 0;
  // The same with x rounded to bf16 (kernels/cpu/precision.h's Bf16 activations, AVX512-BF16 dot
  // products); 0 = not measured (a CPU without them, or an older file).
  double gemm_bf16_dot_gflops = 0;
  // The same with I8 weights and x quantised to int8 blocks (the Int8 activations, AVX512-VNNI
  // integer dot products); 0 = not measured.
  double gemm_int8_dot_gflops = 0;
  std::string isa;  // the kernels' instruction set when measured (kernels/cpu/isa.h); may be ""
  int64_t gemm_t = 256;
  int64_t gemm_k = 1024;
  int64_t gemm_n = 1024;
  std::string cpu;  // model name, as the bench saw it
  std::string host;
  int64_t measured_unix_s = 0;
};

nlohmann::json ceilings_to_json(const MachineCeilings& c);
// Throws moescope::Error naming `source` and the field when a field is missing, of the wrong
// type, or (for the rates) not positive.
MachineCeilings ceilings_from_json(const nlohmann::json& j, const std::string& source);

// The default file above; throws moescope::Error when neither XDG_DATA_HOME nor HOME is set.
std::string default_ceilings_path();
// nullopt when the file does not exist (not measured yet); throws moescope::Error naming the
// file when it cannot be read or parsed.
std::optional<MachineCeilings> load_ceilings(const std::string& path);
// Writes the file (and its directories) atomically: a temporary file renamed over it.
void save_ceilings(const std::string& path, const MachineCeilings& c);

}  // namespace moescope::inspectors
