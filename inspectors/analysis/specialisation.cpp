#include "inspectors/analysis/specialisation.h"

#include <algorithm>
#include <cstddef>
#include <unordered_map>

#include "inspectors/analysis/routing_view.h"

namespace moescope::inspectors {

namespace {

struct TokenTally {
  int64_t first_position = 0;
  int64_t occurrences = 0;
  std::vector<int64_t> any;    // [E] selected among the k
  std::vector<int64_t> first;  // [E] first choice
};

// Per distinct input token of the range, its occurrences and expert counts.
std::unordered_map<int32_t, TokenTally> tally(const storage::RunData& run, const LayerView& v,
                                              const PositionRange& range) {
  std::unordered_map<int32_t, TokenTally> out;
  const int64_t end = std::min<int64_t>(v.end(range), run.n_positions());
  for (int64_t p = v.begin(range); p < end; ++p) {
    if (!v.present(p)) continue;
    TokenTally& t = out[run.tokens[size_t(p)].id];
    if (t.occurrences++ == 0) {
      t.first_position = p;
      t.any.assign(size_t(v.n_experts), 0);
      t.first.assign(size_t(v.n_experts), 0);
    }
    const int32_t* ids = v.ids(p);
    for (int64_t r = 0; r < v.top_k; ++r) ++t.any[size_t(ids[r])];
    ++t.first[size_t(ids[0])];
  }
  return out;
}

}  // namespace

std::vector<ExpertTokens> expert_top_tokens(const storage::RunData& run, int32_t layer,
                                            const PositionRange& range,
                                            const SpecialisationOptions& options) {
  const LayerView v = layer_view(run, layer, range);
  const auto tallies = tally(run, v, range);
  std::vector<ExpertTokens> out(size_t(v.n_experts));
  for (int64_t e = 0; e < v.n_experts; ++e) {
    ExpertTokens& x = out[size_t(e)];
    x.expert = int32_t(e);
    for (const auto& [id, t] : tallies) {
      const int64_t n = (options.first_choice_only ? t.first : t.any)[size_t(e)];
      if (n == 0) continue;
      x.routed += n;
      x.tokens.push_back({id, run.tokens[size_t(t.first_position)].text, n, t.occurrences,
                          double(n) / double(t.occurrences)});
    }
    auto better = [](const TokenCount& a, const TokenCount& b) {
      if (a.count != b.count) return a.count > b.count;
      if (a.share != b.share) return a.share > b.share;
      return a.token < b.token;
    };
    const size_t keep = std::min(x.tokens.size(), size_t(std::max<int64_t>(options.top_n, 0)));
    std::partial_sort(x.tokens.begin(), x.tokens.begin() + std::ptrdiff_t(keep), x.tokens.end(),
                      better);
    x.tokens.resize(keep);
  }
  return out;
}

std::vector<TokenSpecialisation> token_specialisation(const storage::RunData& run, int32_t layer,
                                                      const PositionRange& range,
                                                      int64_t min_occurrences) {
  const LayerView v = layer_view(run, layer, range);
  std::vector<TokenSpecialisation> out;
  for (const auto& [id, t] : tally(run, v, range)) {
    if (t.occurrences < min_occurrences) continue;
    const auto top = std::max_element(t.first.begin(), t.first.end());  // first maximum
    out.push_back({id, run.tokens[size_t(t.first_position)].text, t.occurrences,
                   int32_t(top - t.first.begin()), double(*top) / double(t.occurrences)});
  }
  std::sort(out.begin(), out.end(), [](const TokenSpecialisation& a, const TokenSpecialisation& b) {
    if (a.share != b.share) return a.share > b.share;
    if (a.occurrences != b.occurrences) return a.occurrences > b.occurrences;
    return a.token < b.token;
  });
  return out;
}

}  // namespace moescope::inspectors
