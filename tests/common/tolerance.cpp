#include "tests/common/tolerance.h"

#include <cmath>
#include <sstream>

namespace moescope::test {

Tolerance tolerance_for(kernels::DType compute, Level level) {
  Tolerance t;
  switch (compute) {
    case kernels::DType::F32:
      t = {1e-5, 1e-10};
      break;
    case kernels::DType::BF16:
    case kernels::DType::F16:
      t = {1e-2, 1e-5};
      break;
    default:
      t = {6e-2, 1e-3};
      break;  // 8-bit weights
  }
  if (level == Level::Model) {
    if (compute == kernels::DType::F32) return {1e-4, 1e-8};
    return {t.rel_to_max * 10, t.nmse * 10};
  }
  return t;
}

::testing::AssertionResult all_close(const float* got, const float* want, size_t n, Tolerance tol,
                                     const std::string& what) {
  double max_ref = 0, max_err = 0, err2 = 0, ref2 = 0;
  size_t worst = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(got[i]) && !(got[i] == want[i])) {
      return ::testing::AssertionFailure() << what << ": non-finite value " << got[i]
                                           << " at index " << i << " (want " << want[i] << ")";
    }
    double e = std::fabs(double(got[i]) - double(want[i]));
    if (e > max_err) max_err = e, worst = i;
    max_ref = std::fmax(max_ref, std::fabs(double(want[i])));
    err2 += e * e;
    ref2 += double(want[i]) * double(want[i]);
  }
  double rel = max_ref > 0 ? max_err / max_ref : max_err;
  double nmse = ref2 > 0 ? err2 / ref2 : err2;
  if (rel <= tol.rel_to_max && nmse <= tol.nmse) return ::testing::AssertionSuccess();
  std::ostringstream msg;
  msg << what << ": max error " << max_err << " at index " << worst << " (got " << got[worst]
      << ", want " << want[worst] << "), max_err/max|want| = " << rel << " (bound "
      << tol.rel_to_max << "), nmse = " << nmse << " (bound " << tol.nmse << ")";
  return ::testing::AssertionFailure() << msg.str();
}

}  // namespace moescope::test
