// Naive reference versions of every CPU kernel: the oracle the optimised CPU kernels (and later
// the CUDA kernels) are tested against.
//
// Written straight from the formulas in grok-architecture.md 2.1-2.6, 3.1, 3.3 and the kernel
// headers: plain loops, no threads, no blocking, double precision wherever it is natural
// (sums, transcendental functions), f32 only where a result is stored. Same signatures as the
// kernels, minus the ThreadPool. Slow on purpose; use only in tests.
#pragma once

#include <cstdint>

#include "kernels/cpu/activation.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/router.h"

namespace moescope::kernels::ref {

// y[T, N] (+)= x[T, K] . W^T with W read element by element through WeightMatrix::at.
void matmul_ref(const float* x, int64_t t, const WeightMatrix& w, float* y,
                bool accumulate = false);

// y[T, D] = w * x / sqrt(mean(x^2) + eps). y may alias x.
void rmsnorm_ref(const float* x, const float* w, float eps, int64_t t, int64_t d, float* y);
// residual[T, D] += w * x / sqrt(mean(x^2) + eps).
void rmsnorm_add_ref(const float* x, const float* w, float eps, int64_t t, int64_t d,
                     float* residual);

// In place on x[T, H, Dh], half-split rotation at positions[t].
void rope_neox_ref(float* x, int64_t t, int64_t h, int64_t dh, const int64_t* positions,
                   double theta);

// q: [T, Hq, Dh]; k, v: [S_max, Hkv, Dh] (rows [0, p0+T) used); o: [T, Hq, Dh];
// probs: null or [Hq, T, S].
void attention_ref(const float* q, const float* k, const float* v, const uint8_t* key_valid,
                   int64_t t, int64_t p0, const AttentionParams& params, float* o, float* probs);

// The activations in double precision, from their textbook formulas.
double gelu_tanh_ref(double x);
double gelu_erf_ref(double x);
double silu_ref(double x);
// out[i] = act(gate[i]) * up[i].
void gated_activation_ref(const float* gate, const float* up, int64_t n, Activation act,
                          float* out);

// logits: [T, E]; probs: [T, E]; ids, gates: [T, K].
void route_ref(const float* logits, int64_t t, const RouterParams& params, float* probs,
               int32_t* ids, float* gates);

// out[T, D] = table[ids[t], :] * multiplier.
void embed_ref(const WeightMatrix& table, const int32_t* ids, int64_t t, float multiplier,
               float* out);

}  // namespace moescope::kernels::ref
