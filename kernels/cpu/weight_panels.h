// The panel walk of the prefill GEMMs that convert W panel by panel before multiplying it (the
// Bf16 activations path, matmul_avx512bf16.cpp, and the Int8 one, matmul_int8x.h): W rows in
// panels of kCols, K in runs that never cross a scale group, so that one scale per column holds
// for a whole panel. Included by instruction-set variants only (matmul_variants.h): the walk is
// instantiated in the including variant's namespace.
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/matmul.h"

#ifndef MOESCOPE_KERNELS_VARIANT
#error "weight_panels.h is compiled by a variant source, which names its namespace"
#endif

namespace moescope::kernels::MOESCOPE_KERNELS_VARIANT {

// Calls panel(nb, cols, u0, units, g, scale) for W rows [n0, n1) in panels of kCols rows (cols
// of them real: fewer in the last panel) and, within each panel, K in runs [u0, u0 + units) of
// at most max_units units (a row has row_units: bf16 pairs, int8 quads) inside scale group g.
// scale[j] is row nb + j's scale in group g: 1 past cols, and without scales.
template <int64_t kCols, class Panel>
inline void for_each_weight_panel(const WeightMatrix& w, int64_t n0, int64_t n1, int64_t row_units,
                                  int64_t max_units, Panel&& panel) {
  const int64_t group_units = row_units / w.scale_groups();
  alignas(64) float scale[kCols];
  for (int64_t nb = n0; nb < n1; nb += kCols) {
    const int64_t cols = std::min(kCols, n1 - nb);
    for (int64_t u0 = 0; u0 < row_units;) {
      const int64_t g = u0 / group_units;
      const int64_t units = std::min(max_units, (g + 1) * group_units - u0);
      for (int64_t j = 0; j < kCols; ++j)
        scale[j] = w.scales && j < cols ? w.scales[(nb + j) * w.groups + g] : 1.0f;
      panel(nb, cols, u0, units, g, static_cast<const float*>(scale));
      u0 += units;
    }
  }
}

}  // namespace moescope::kernels::MOESCOPE_KERNELS_VARIANT
