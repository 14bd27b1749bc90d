// Rotary position embedding, half-split ("NeoX") layout (grok-architecture.md 2.4 step 2, 3.2).
// Shape legend: T tokens, H heads, Dh head dim (even); positions[T] are absolute, 0-based.
//
// Phases p * w_i are formed and reduced by cos/sin in double: at Grok-2's positions (up to
// 131072) an f32 phase would already be off by ~0.004 rad. The rotation itself runs in f32.
//
// The cos/sin of a position are the same for q and k and for every layer, and double cos/sin
// cost ~15 ns each: they are kept in a per-thread table over the positions seen so far (for the
// current Dh and theta), so each is computed once per position instead of 2L times.
#include "kernels/cpu/rope.h"

#include <cassert>
#include <cmath>
#include <vector>

namespace moescope::kernels {

namespace {

// Positions at or past this are computed directly, not kept (a Grok-2 context of 131072 x
// Dh 128 would hold 64 MiB per thread).
constexpr int64_t kMaxTablePositions = int64_t(1) << 15;

// cos/sin of p * theta^(-2i/Dh) for p in [0, positions), i in [0, Dh/2): cs[(p * half + i) * 2].
struct PhaseTable {
  int64_t dh = 0;
  double theta = 0;
  int64_t positions = 0;
  std::vector<float> cs;
};

void compute_row(double p, int64_t half, int64_t dh, double theta, float* cs) {
  for (int64_t i = 0; i < half; ++i) {
    const double phase = p * std::pow(theta, -2.0 * double(i) / double(dh));
    cs[2 * i] = float(std::cos(phase));
    cs[2 * i + 1] = float(std::sin(phase));
  }
}

// The table for (dh, theta) covering position p (p < kMaxTablePositions).
const float* table_row(int64_t p, int64_t dh, double theta) {
  thread_local PhaseTable t;
  const int64_t half = dh / 2;
  if (t.dh != dh || t.theta != theta) t = PhaseTable{dh, theta, 0, {}};
  if (p >= t.positions) {
    const int64_t grown = std::min(kMaxTablePositions, std::max(p + 1, 2 * t.positions));
    t.cs.resize(size_t(grown * half * 2));
    for (int64_t q = t.positions; q < grown; ++q)
      compute_row(double(q), half, dh, theta, t.cs.data() + q * half * 2);
    t.positions = grown;
  }
  return t.cs.data() + p * half * 2;
}

}  // namespace

void rope_neox(float* x, int64_t t, int64_t h, int64_t dh, const int64_t* positions, double theta) {
  assert(dh % 2 == 0);
  const int64_t half = dh / 2;
  std::vector<float> direct;  // for positions past the table
  for (int64_t tok = 0; tok < t; ++tok) {
    // One row of cos/sin per token, applied to all H heads.
    const int64_t p = positions[tok];
    const float* cs;
    if (p >= 0 && p < kMaxTablePositions) {
      cs = table_row(p, dh, theta);
    } else {
      direct.resize(size_t(half * 2));
      compute_row(double(p), half, dh, theta, direct.data());
      cs = direct.data();
    }
    for (int64_t head = 0; head < h; ++head) {
      float* lo = x + (tok * h + head) * dh;  // x[i]
      float* hi = lo + half;                  // x[i + Dh/2]
      for (int64_t i = 0; i < half; ++i) {
        const float a = lo[i], b = hi[i], c = cs[2 * i], s = cs[2 * i + 1];
        lo[i] = a * c - b * s;
        hi[i] = b * c + a * s;
      }
    }
  }
}

}  // namespace moescope::kernels
