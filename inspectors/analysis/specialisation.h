// Vocabulary specialisation of one layer (OLMoE run_routing_analysis.py; tooling-conventions.md
// 5.8 and 5.9): which input tokens each expert serves. The token routed at position t is the
// input token t (RunData::tokens[t].id). Over the positions of a range with routing recorded:
//   occurrences(v)    = #{t : token t == v}
//   count(v, i)       = #{t : token t == v and i selected}   (first choice only, or any of the k)
//   share(v, i)       = count(v, i) / occurrences(v)
// expert_top_tokens: per expert, the tokens with the largest count(v, i) (ties: larger share,
//   then smaller id): "the tokens most often routed to each expert".
// token_specialisation: per token with >= min_occurrences, its most frequent first-choice
//   expert and share(v, that expert) under first-choice counting: OLMoE's vocabulary
//   specialisation (1 = the token always goes to one expert; 1/E = no preference).
// Cost: O(T k + V_seen E) with V_seen distinct tokens.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "inspectors/analysis/position_range.h"
#include "storage/run_data.h"

namespace moescope::inspectors {

struct SpecialisationOptions {
  bool first_choice_only = false;  // count only the first choice (else any of the k)
  int64_t top_n = 10;              // tokens kept per expert
};

struct TokenCount {
  int32_t token = 0;
  std::string text;  // as decoded at its first occurrence in the range
  int64_t count = 0;
  int64_t occurrences = 0;
  double share = 0;
};

struct ExpertTokens {
  int32_t expert = 0;
  int64_t routed = 0;              // positions routed to this expert (under the same counting)
  std::vector<TokenCount> tokens;  // at most top_n, most routed first
};

// One entry per expert.
std::vector<ExpertTokens> expert_top_tokens(const storage::RunData& run, int32_t layer,
                                            const PositionRange& range = {},
                                            const SpecialisationOptions& options = {});

struct TokenSpecialisation {
  int32_t token = 0;
  std::string text;
  int64_t occurrences = 0;
  int32_t top_expert = 0;  // the most frequent first choice (smallest id on ties)
  double share = 0;        // of the token's occurrences with that first choice
};

// Tokens with at least min_occurrences, most specialised first (ties: more occurrences, then
// smaller id).
std::vector<TokenSpecialisation> token_specialisation(const storage::RunData& run, int32_t layer,
                                                      const PositionRange& range = {},
                                                      int64_t min_occurrences = 10);

}  // namespace moescope::inspectors
