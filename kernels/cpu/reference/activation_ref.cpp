// Reference activations in double, from their textbook formulas (grok-architecture.md 2.5,
// 3.3): gelu_tanh = 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))), gelu_erf = 0.5x(1 + erf(x/sqrt2)),
// silu = x / (1 + exp(-x)).
#include <cmath>
#include <numbers>

#include "kernels/cpu/reference/reference.h"

namespace moescope::kernels::ref {

double gelu_tanh_ref(double x) {
  const double kSqrt2OverPi = std::sqrt(2.0 / std::numbers::pi);
  return 0.5 * x * (1.0 + std::tanh(kSqrt2OverPi * (x + 0.044715 * x * x * x)));
}

double gelu_erf_ref(double x) {
  return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
}

double silu_ref(double x) {
  return x / (1.0 + std::exp(-x));
}

void gated_activation_ref(const float* gate, const float* up, int64_t n, Activation act,
                          float* out) {
  for (int64_t i = 0; i < n; ++i) {
    double a = 0.0;
    switch (act) {
      case Activation::GeluTanh:
        a = gelu_tanh_ref(gate[i]);
        break;
      case Activation::GeluErf:
        a = gelu_erf_ref(gate[i]);
        break;
      case Activation::Silu:
        a = silu_ref(gate[i]);
        break;
    }
    out[i] = float(a * double(up[i]));
  }
}

}  // namespace moescope::kernels::ref
