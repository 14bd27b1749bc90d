#include "kernels/cpu/precision.h"

#include <atomic>
#include <cstdlib>

#include "kernels/cpu/isa.h"

namespace moescope::kernels {

namespace {

Activations initial_activations() {
  const char* env = std::getenv("MOESCOPE_ACTIVATIONS");
  if (env == nullptr || *env == '\0') return Activations::F32;
  return parse_activations(env).value_or(Activations::F32);
}

std::atomic<Activations>& activations_state() {
  static std::atomic<Activations> a{initial_activations()};
  return a;
}

}  // namespace

const char* activations_name(Activations a) {
  switch (a) {
    case Activations::Bf16:
      return "bf16";
    case Activations::Int8:
      return "int8";
    case Activations::F32:
      break;
  }
  return "f32";
}

std::optional<Activations> parse_activations(std::string_view name) {
  for (Activations a : {Activations::F32, Activations::Bf16, Activations::Int8})
    if (name == activations_name(a)) return a;
  return std::nullopt;
}

const char* activations_choices() {
  return "f32, bf16 or int8";
}

Activations active_activations() {
  return activations_state().load(std::memory_order_relaxed);
}

void set_activations(Activations a) {
  activations_state().store(a, std::memory_order_relaxed);
}

std::string activations_env_error() {
  const char* env = std::getenv("MOESCOPE_ACTIVATIONS");
  if (env == nullptr || *env == '\0' || parse_activations(env)) return "";
  return std::string("MOESCOPE_ACTIVATIONS=") + env + ": expected " + activations_choices();
}

bool bf16_activations_effective() {
  return active_activations() != Activations::F32 && active_isa() >= Isa::Avx512 &&
         cpu_has_avx512_bf16();
}

bool int8_activations_effective() {
  return active_activations() == Activations::Int8 && active_isa() >= Isa::Avx512;
}

std::string effective_activations_name() {
  if (int8_activations_effective())
    return bf16_activations_effective() ? "int8" : "int8 (bf16 weights f32)";
  return bf16_activations_effective() ? "bf16" : "f32";
}

}  // namespace moescope::kernels
