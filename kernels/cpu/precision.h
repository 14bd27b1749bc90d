// What the CPU matmuls may round x to: the engine's numerics mode for activations.
//
//   F32   (default) every product sees x to f32 precision, on every instruction set (isa.h).
//   Bf16  prefill matmuls (more than kDirectMaxT rows) of BF16 and I8 weights round x to bf16
//         (round to nearest even) and multiply with AVX512-BF16 dot products, two products per
//         f32 lane per instruction: about twice the f32 FMA rate on CPUs that have it (Zen 4 and
//         later, Sapphire Rapids and later), as ik_llama.cpp's bf16 path does. Each product's x
//         then carries 8 significant bits (relative error up to 2^-9), within the bf16 tolerance
//         of the tests (tests/common/tolerance.h), not the f32 one. Decode (memory-bound) and
//         other weight dtypes keep f32, and so does everything on CPUs without AVX512-BF16, and
//         the AMX path, which is exact and faster there. Prefill attention (head dims 16, 32, 64,
//         128; on the avx512 level) multiplies q.k and the softmax's weights by v in bf16 pairs
//         the same way, f32 sums and softmax (attention_kernels.h; tinyC's heads ~1.25x); decode
//         attention stays f32.
//   Int8  matmuls of I8 weights whose K and scale groups are multiples of 32 columns (packed,
//         for decode) quantise x to int8 per block of up to kInt8XBlock columns inside the
//         weights' scale groups (symmetric: step max|x| / 127, round to nearest even) and multiply
//         with AVX512-VNNI integer dot products, one instruction per 64 products, as
//         ik_llama.cpp's q8_0 path does: 1.6-1.8x the exact decode where the weights sit in
//         cache (tinyA), 1.6x the Bf16 mode's prefill (tinyC). Each x then carries up to half a
//         step, 1/254 of its block's largest magnitude: the int8 tolerance of the tests, not the
//         bf16 one. Other prefill matmuls of BF16 and I8 weights, and prefill attention, are the
//         Bf16 mode's; the AMX path, where present, keeps the prefill matmuls (exact). Needs the
//         avx512 level (with VNNI).
//
// Chosen by MOESCOPE_ACTIVATIONS or the commands' --activations; process-wide, as the
// instruction set is.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace moescope::kernels {

enum class Activations : uint8_t { F32 = 0, Bf16 = 1, Int8 = 2 };

// Columns of x that share one int8 scale in the Int8 mode (q8_0 takes 32; 64 halves the cost of
// applying them for a slightly coarser step).
constexpr int64_t kInt8XBlock = 64;

// "f32", "bf16", "int8".
const char* activations_name(Activations a);
// Parses activations_name's spellings; nullopt when unknown.
std::optional<Activations> parse_activations(std::string_view name);
// "f32, bf16 or int8", for error messages.
const char* activations_choices();

// The mode now: MOESCOPE_ACTIVATIONS's at first (f32 when unset or unknown), then set_activations'.
Activations active_activations();
// Sets the mode. Not to be called while kernels run on other threads.
void set_activations(Activations a);
// When MOESCOPE_ACTIVATIONS is set to something parse_activations does not know, a one-line
// message naming it and the choices; empty otherwise.
std::string activations_env_error();
// Whether prefill rounds x to bf16 now: the mode is Bf16 or Int8, this CPU has AVX512-BF16 and
// the avx512 level is active.
bool bf16_activations_effective();
// Whether decode quantises x to int8 for I8 weights now: the mode is Int8 and the avx512 level
// (with VNNI) is active.
bool int8_activations_effective();
// The mode in effect on this CPU: "f32", "bf16" or "int8"; "int8" without AVX512-BF16 keeps the
// bf16 weights' prefill in f32 ("int8 (bf16 weights f32)").
std::string effective_activations_name();

// Sets the mode for a scope, restoring the previous one at its end (tests, benches).
class ScopedActivations {
 public:
  explicit ScopedActivations(Activations a) : previous_(active_activations()) {
    set_activations(a);
  }
  ~ScopedActivations() { set_activations(previous_); }
  ScopedActivations(const ScopedActivations&) = delete;
  ScopedActivations& operator=(const ScopedActivations&) = delete;

 private:
  Activations previous_;
};

}  // namespace moescope::kernels
