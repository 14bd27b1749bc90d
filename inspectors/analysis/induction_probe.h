// The repeated-random-tokens induction test (TransformerLens Main Demo / ARENA;
// tooling-conventions.md section 6). The sequence is [r_1 .. r_N, r_1 .. r_N] (our models have
// no BOS token); an induction head at second-half position t attends to the token right after
// the first occurrence of token t, i.e. to key t - N + 1:
//   score = mean over captured rows t in [N, 2N) of A[t, t - N + 1].
// With distinct r_i this equals head_metrics()'s induction score (whose detection pattern has
// exactly that one cell in each second-half row and none in the first half); the probe ranks
// heads by that, and this direct formula is its cross-check.
#pragma once

#include <cstdint>
#include <vector>

#include "storage/run_data.h"

namespace moescope::inspectors {

// 2N ids: N distinct ids drawn uniformly from [lo, hi), then the same N again. Deterministic
// for a seed on every platform (splitmix64, no std distributions). Throws moescope::Error
// when N < 1 or the range holds fewer than N ids.
std::vector<int32_t> repeated_random_tokens(int64_t n, int32_t lo, int32_t hi, uint64_t seed);

// The direct score above for one head from the run's attention records; NaN when no
// second-half row of that head was captured.
double repeated_tokens_induction(const storage::RunData& run, int32_t layer, int32_t head,
                                 int64_t n);

}  // namespace moescope::inspectors
