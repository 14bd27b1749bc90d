// Random-routing baselines for the consecutive-token statistics (tooling-conventions.md 5.7):
// what the rates would be if each token drew its k experts uniformly at random from E.
#pragma once

#include <cstdint>

namespace moescope::inspectors {

// P(the first choice of two consecutive tokens is the same expert) = 1/E.
double random_same_first_choice(int64_t n_experts);

// P(two independent uniformly random k-subsets of E share at least one expert)
// = 1 - C(E-k, k) / C(E, k); 13/28 = 46.4% for E = 8, k = 2.
double random_overlap_either_choice(int64_t n_experts, int64_t top_k);

}  // namespace moescope::inspectors
