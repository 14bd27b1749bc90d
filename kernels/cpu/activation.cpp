// Gated activations of the expert and shared MLPs: out = act(gate) * up
// (grok-architecture.md 2.5, 3.3).
//
// Each activation is evaluated in a form that is algebraically equal to the textbook one but
// avoids cancellation for negative x, where 1 + tanh(z) or 1 + erf(z) would subtract two
// nearly equal numbers:
//   gelu_tanh: 0.5 x (1 + tanh(z)) = x / (1 + exp(-2z)),  z = sqrt(2/pi) (x + 0.044715 x^3)
//   gelu_erf:  0.5 x (1 + erf(x / sqrt2)) = 0.5 x erfc(-x / sqrt2)
//   silu:      x / (1 + exp(-x))
#include "kernels/cpu/activation.h"

#include <cmath>

namespace moescope::kernels {

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::GeluTanh:
      return "gelu_tanh";
    case Activation::GeluErf:
      return "gelu_erf";
    case Activation::Silu:
      return "silu";
  }
  return "?";
}

float gelu_tanh(float x) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  const float z = kSqrt2OverPi * (x + 0.044715f * x * x * x);
  // For large |x|, x^3 overflows to +-inf; exp then gives inf or 0 and the result is -0 or x.
  return x / (1.0f + std::exp(-2.0f * z));
}

float gelu_erf(float x) {
  constexpr float kSqrtHalf = 0.7071067811865476f;
  return 0.5f * x * std::erfc(-x * kSqrtHalf);
}

float silu(float x) {
  return x / (1.0f + std::exp(-x));
}

namespace {

template <float (*Act)(float)>
void gated(const float* gate, const float* up, int64_t n, float* out) {
  // out may alias gate or up: element i is read before it is written.
  for (int64_t i = 0; i < n; ++i) out[i] = Act(gate[i]) * up[i];
}

}  // namespace

void gated_activation(const float* gate, const float* up, int64_t n, Activation act, float* out) {
  switch (act) {
    case Activation::GeluTanh:
      gated<gelu_tanh>(gate, up, n, out);
      return;
    case Activation::GeluErf:
      gated<gelu_erf>(gate, up, n, out);
      return;
    case Activation::Silu:
      gated<silu>(gate, up, n, out);
      return;
  }
}

}  // namespace moescope::kernels
