// Rotary position embedding, half-split ("NeoX") layout over the whole head
// (grok-architecture.md 2.4 step 2). For a head vector x of size Dh at position p and
// i in [0, Dh/2): w_i = theta^(-2i/Dh), c = cos(p*w_i), s = sin(p*w_i),
//   y[i] = x[i]*c - x[i+Dh/2]*s,   y[i+Dh/2] = x[i+Dh/2]*c + x[i]*s.
// Phases are computed in double precision so that long positions stay exact.
// Shape legend: T tokens, H heads, Dh head dim (even).
#pragma once

#include <cstdint>

namespace moescope::kernels {

// In place on x[T, H, Dh]; token t sits at absolute position positions[t].
void rope_neox(float* x, int64_t t, int64_t h, int64_t dh, const int64_t* positions, double theta);

}  // namespace moescope::kernels
