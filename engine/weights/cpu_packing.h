// The weights as the CPU kernels stream them: every matrix the forward pass multiplies by, in
// WeightLayout::Packed4 (kernels/cpu/weight_packing.h), so that decode reads each block of four
// rows as one sequential stream.
//
// Packing copies: the returned weights own the packed matrices and keep the source alive for
// what they share with it (norms, scales, matrices that cannot be packed, an untied embedding,
// which is only gathered by rows). Source matrices in read-only file mappings have their pages
// handed back to the page cache once copied (file_pages.h), so a mapped checkpoint is resident
// once, not twice; matrices the source owns in memory (synthetic weights, ckpt-0 transposes,
// joined TP slices) stay, and take their bytes again packed.
#pragma once

#include <memory>

#include "engine/weights/model_weights.h"

namespace moescope {

// weights with every packable matrix packed (cpu_packed set); weights itself when already packed.
// Tied embedding and output stay one matrix.
std::shared_ptr<const ModelWeights> pack_for_cpu(std::shared_ptr<const ModelWeights> weights);

// Packs w's packable matrices in place (w owns their bytes and nothing else reads them in the
// row-major layout): for weights built in memory, without a second copy.
void pack_in_place_for_cpu(ModelWeights& w);

}  // namespace moescope
