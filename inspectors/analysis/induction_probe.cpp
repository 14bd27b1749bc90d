#include "inspectors/analysis/induction_probe.h"

#include <algorithm>
#include <limits>
#include <unordered_set>

#include "engine/core/error.h"

namespace moescope::inspectors {

namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

std::vector<int32_t> repeated_random_tokens(int64_t n, int32_t lo, int32_t hi, uint64_t seed) {
  if (n < 1) fail("induction probe length ", n, " (expected at least 1)");
  if (int64_t(hi) - int64_t(lo) < n)
    fail("induction probe length ", n, " needs that many distinct token ids; ids ", lo, " .. ",
         int64_t(hi) - 1, " hold ", std::max<int64_t>(0, int64_t(hi) - int64_t(lo)));
  const uint64_t range = uint64_t(int64_t(hi) - int64_t(lo));
  uint64_t state = seed;
  std::unordered_set<int32_t> used;
  std::vector<int32_t> out;
  out.reserve(size_t(2 * n));
  while (int64_t(out.size()) < n) {
    // Rejection keeps the draw uniform: values past the largest multiple of range are redrawn.
    const uint64_t limit = std::numeric_limits<uint64_t>::max() / range * range;
    uint64_t x;
    do x = splitmix64(state);
    while (x >= limit);
    const int32_t id = int32_t(int64_t(lo) + int64_t(x % range));
    if (used.insert(id).second) out.push_back(id);
  }
  for (int64_t i = 0; i < n; ++i) out.push_back(out[size_t(i)]);
  return out;
}

double repeated_tokens_induction(const storage::RunData& run, int32_t layer, int32_t head,
                                 int64_t n) {
  double sum = 0;
  int64_t rows = 0;
  for (const storage::AttentionRecord& r : run.attention) {
    if (r.layer != layer || r.head != head) continue;
    for (int32_t q = 0; q < r.n_queries; ++q) {
      const int64_t t = r.q0 + q;
      if (t < n || t >= 2 * n || t - n + 1 >= r.n_keys) continue;
      sum += r.at(q, t - n + 1);
      ++rows;
    }
  }
  return rows ? sum / double(rows) : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace moescope::inspectors
