// Internal to kernels/cpu: per-thread f32 buffers that the kernels keep between calls.
//
// Defined once, in the baseline object (scratch.cpp), so that no instruction-set variant
// instantiates std::vector itself (matmul_variants.h says why that matters).
#pragma once

#include <cstddef>

namespace moescope::kernels {

// One buffer per slot and thread.
enum class ScratchSlot {
  Panel,       // matmul prefill: a block of W as stored, f32
  PanelT,      // matmul prefill: the block transposed
  PermutedX,   // matmul decode: x in the bf16 chunks' lane order
  DigitsX,     // matmul decode: x as fixed-point digits for int8 weights on VNNI
  AmxX,        // matmul on AMX: x's bf16 parts
  AmxPanel,    // matmul on AMX: W's B tiles
  AmxC,        // matmul on AMX: the f32 sums between K panels
  Bf16X,       // matmul with bf16 activations: x rounded to bf16
  Bf16Panel,   // matmul with bf16 activations: a panel of W as bf16 pairs
  Int8X,       // matmul with int8 activations (prefill): x quantised, in tile order
  Int8Panel,   // matmul with int8 activations (prefill): a panel of W as unsigned quads
  AttnLogits,  // attention: a work item's query rows' logits over the keys
  AttnKeysT,   // attention: a block of keys transposed
  AttnPairs,   // attention with bf16 products: q, a key block, v and weights as bf16 pairs
  Count
};

// The calling thread's buffer for slot, of at least n floats (grown as needed, never shrunk).
float* thread_scratch(ScratchSlot slot, size_t n);

}  // namespace moescope::kernels
