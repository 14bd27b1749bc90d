// Rotary position embedding, half-split ("NeoX") layout (grok-architecture.md 2.4 step 2, 3.2).
// Shape legend: T tokens, H heads, Dh head dim (even); positions[T] are absolute, 0-based.
//
// Phases p * w_i are formed and reduced by cos/sin in double: at Grok-2's positions (up to
// 131072) an f32 phase would already be off by ~0.004 rad. The rotation itself runs in f32.
#include "kernels/cpu/rope.h"

#include <cassert>
#include <cmath>
#include <vector>

namespace moescope::kernels {

void rope_neox(float* x, int64_t t, int64_t h, int64_t dh, const int64_t* positions, double theta) {
  assert(dh % 2 == 0);
  const int64_t half = dh / 2;
  // w_i = theta^(-2i/Dh), shared by every token.
  std::vector<double> inv_freq(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) inv_freq[i] = std::pow(theta, -2.0 * double(i) / double(dh));
  std::vector<float> cos_p(static_cast<size_t>(half)), sin_p(static_cast<size_t>(half));
  for (int64_t tok = 0; tok < t; ++tok) {
    // One table per token, applied to all H heads.
    const double p = double(positions[tok]);
    for (int64_t i = 0; i < half; ++i) {
      const double phase = p * inv_freq[i];
      cos_p[i] = float(std::cos(phase));
      sin_p[i] = float(std::sin(phase));
    }
    for (int64_t head = 0; head < h; ++head) {
      float* lo = x + (tok * h + head) * dh;  // x[i]
      float* hi = lo + half;                  // x[i + Dh/2]
      for (int64_t i = 0; i < half; ++i) {
        const float a = lo[i], b = hi[i];
        lo[i] = a * cos_p[i] - b * sin_p[i];
        hi[i] = b * cos_p[i] + a * sin_p[i];
      }
    }
  }
}

}  // namespace moescope::kernels
