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
//         the AMX path, which is exact and faster there.
//
// Chosen by MOESCOPE_ACTIVATIONS or the commands' --activations; process-wide, as the
// instruction set is.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace moescope::kernels {

enum class Activations : uint8_t { F32 = 0, Bf16 = 1 };

// "f32", "bf16".
const char* activations_name(Activations a);
// Parses activations_name's spellings; nullopt when unknown.
std::optional<Activations> parse_activations(std::string_view name);
// "f32 or bf16", for error messages.
const char* activations_choices();

// The mode now: MOESCOPE_ACTIVATIONS's at first (f32 when unset or unknown), then set_activations'.
Activations active_activations();
// Sets the mode. Not to be called while kernels run on other threads.
void set_activations(Activations a);
// When MOESCOPE_ACTIVATIONS is set to something parse_activations does not know, a one-line
// message naming it and the choices; empty otherwise.
std::string activations_env_error();
// Whether Bf16 changes anything on this CPU (it has AVX512-BF16 and the avx512 level is active).
bool bf16_activations_effective();

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
