// Which instruction sets the CPU kernels use, chosen at run time.
//
// The kernels are built for a baseline (x86-64-v3: AVX2, FMA, F16C, unless configured
// otherwise) and the hot matmul kernels once more for each wider instruction set; at run time
// they use the widest set this CPU and OS support, or a lower one asked for (MOESCOPE_ISA, the
// tests, `moescope bench --isa`). Every level computes the same f32 results up to summation
// order and f32 rounding: isa_amx's bf16 products see x split into three bf16 parts (exact), and
// isa_avx512's int8 decode sees x as 24-bit fixed point against its row's largest magnitude
// (each element within 2^-24 of that, as an f32 product's rounding).
//
//   Portable  plain C++ (the compiler may vectorise it for the baseline)
//   Avx2      AVX2 + FMA + F16C, 8 f32 lanes
//   Avx512    AVX-512 F/BW/VL/DQ + VNNI (Ice Lake, Cascade Lake, Zen 4 and later), 16 f32 lanes,
//             int8 weights multiplied as integers against x in 24-bit fixed point
//   Amx       Avx512 + AVX512-BF16 + AMX-TILE/AMX-BF16 (the OS must grant the tile state):
//             prefill matmuls of bf16-exact weights (BF16, I8, F8_E4M3) on the tile unit
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace moescope::kernels {

enum class Isa : uint8_t { Portable = 0, Avx2 = 1, Avx512 = 2, Amx = 3 };

// "portable", "avx2", "avx512", "amx".
const char* isa_name(Isa isa);
// Parses isa_name's spellings; nullopt when unknown.
std::optional<Isa> parse_isa(std::string_view name);
// The spellings, for error messages: "portable, avx2, avx512 or amx".
const char* isa_choices();

// The widest level this CPU and OS support (detected once; for Amx this asks the kernel for the
// tile state); Portable on CPUs other than x86-64. (A build whose baseline is x86-64-v3 runs only
// where this is at least Avx2.)
Isa detected_isa();
// The level the kernels use now: detected_isa() at first, or MOESCOPE_ISA's when that names a
// lower one (isa_env_error says when it names none).
Isa active_isa();
// Sets the level the kernels use, capped at detected_isa(); returns the level now active. Not
// to be called while kernels run on other threads.
Isa set_active_isa(Isa isa);
// When MOESCOPE_ISA is set to something parse_isa does not know, a one-line message naming it
// and the choices; empty otherwise.
std::string isa_env_error();
// The CPU's features that decide the levels, for reports: e.g. "avx2 fma f16c avx512f ...".
std::string cpu_feature_list();
// Whether the CPU and OS run AVX512-BF16 (the bf16 dot products of precision.h's Bf16 mode).
bool cpu_has_avx512_bf16();

// Sets the active level for a scope, restoring the previous one at its end (tests, benches).
class ScopedIsa {
 public:
  explicit ScopedIsa(Isa isa) : previous_(active_isa()) { set_active_isa(isa); }
  ~ScopedIsa() { set_active_isa(previous_); }
  ScopedIsa(const ScopedIsa&) = delete;
  ScopedIsa& operator=(const ScopedIsa&) = delete;

 private:
  Isa previous_;
};

}  // namespace moescope::kernels
