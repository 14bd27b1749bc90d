#include "inspectors/analysis/baselines.h"

namespace moescope::inspectors {

double random_same_first_choice(int64_t n_experts) {
  return n_experts > 0 ? 1.0 / double(n_experts) : 0.0;
}

double random_overlap_either_choice(int64_t n_experts, int64_t top_k) {
  if (top_k <= 0 || n_experts <= 0) return 0.0;
  if (2 * top_k > n_experts) return 1.0;  // two k-subsets of fewer than 2k experts always meet
  // C(E-k, k) / C(E, k) = prod_{i=0}^{k-1} (E-k-i) / (E-i), computed as a product of ratios.
  double disjoint = 1.0;
  for (int64_t i = 0; i < top_k; ++i)
    disjoint *= double(n_experts - top_k - i) / double(n_experts - i);
  return 1.0 - disjoint;
}

}  // namespace moescope::inspectors
