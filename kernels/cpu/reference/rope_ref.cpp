// Reference rotary embedding, NeoX half-split layout (grok-architecture.md 2.4 step 2), all in
// double: w_i = theta^(-2i/Dh), y[i] = x[i] c - x[i+Dh/2] s, y[i+Dh/2] = x[i+Dh/2] c + x[i] s.
// Shape legend: T tokens, H heads, Dh head dim.
#include <cmath>

#include "kernels/cpu/reference/reference.h"

namespace moescope::kernels::ref {

void rope_neox_ref(float* x, int64_t t, int64_t h, int64_t dh, const int64_t* positions,
                   double theta) {
  const int64_t half = dh / 2;
  for (int64_t tok = 0; tok < t; ++tok) {
    for (int64_t head = 0; head < h; ++head) {
      float* v = x + (tok * h + head) * dh;
      for (int64_t i = 0; i < half; ++i) {
        const double w = std::pow(theta, -2.0 * double(i) / double(dh));
        const double phase = double(positions[tok]) * w;
        const double c = std::cos(phase), s = std::sin(phase);
        const double a = v[i], b = v[i + half];
        v[i] = float(a * c - b * s);
        v[i + half] = float(b * c + a * s);
      }
    }
  }
}

}  // namespace moescope::kernels::ref
