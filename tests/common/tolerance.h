// The one tolerance policy for numeric comparisons in the tests (style-anchors lesson 3).
//
// Two measures are checked together on a tensor "got" against a reference "want":
//   max_err / max|want| <= rel_to_max    (the largest error, relative to the tensor's scale)
//   sum (got-want)^2 / sum want^2 <= nmse (the error over the whole tensor)
// The bounds depend on the dtype the computation runs in and on the level compared: a single
// kernel against its naive reference, or a whole model against an independent implementation
// (errors compound through layers). Discrete outputs (token ids, expert sets) compare exactly.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <string>

#include "kernels/cpu/dtype.h"

namespace moescope::test {

enum class Level { Kernel, Model };

struct Tolerance {
  double rel_to_max;
  double nmse;
};

// f32 kernel 1e-5 / 1e-10; f32 model 1e-4 / 1e-8 (the 1e-4 logit bound);
// bf16/f16 kernel 1e-2 / 1e-5; fp8/int8 kernel 6e-2 / 1e-3; model bounds 10x the kernel ones.
Tolerance tolerance_for(kernels::DType compute, Level level);

// Passes when got[0..n) is within tol of want[0..n); the message names what, the worst index,
// both values and both measures.
::testing::AssertionResult all_close(const float* got, const float* want, size_t n, Tolerance tol,
                                     const std::string& what);

}  // namespace moescope::test
