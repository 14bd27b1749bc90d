// Gated activations of the expert and shared MLPs: out = act(gate) * up.
// GeluTanh is JAX's default gelu (approximate=True) used by Grok-1; GeluErf is the exact form
// SGLang uses for Grok-2; Silu is Mixtral's SwiGLU partner.
#pragma once

#include <cstdint>

#include "kernels/cpu/thread_pool.h"

namespace moescope::kernels {

enum class Activation : uint8_t { GeluTanh, GeluErf, Silu };

const char* activation_name(Activation a);

float gelu_tanh(float x);
float gelu_erf(float x);
float silu(float x);

// out[i] = act(gate[i]) * up[i] for i in [0, n). out may alias gate or up. With a pool, long
// arrays are shared out in runs of whole vectors (the result does not depend on the split).
void gated_activation(const float* gate, const float* up, int64_t n, Activation act, float* out,
                      ThreadPool* pool = nullptr);

}  // namespace moescope::kernels
