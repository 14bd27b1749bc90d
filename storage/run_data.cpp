#include "storage/run_data.h"

#include "engine/trace/half.h"

namespace moescope::storage {

float AttentionRecord::at(int32_t row, int64_t key) const {
  return trace::f16_to_f32(probs_f16[size_t(row * n_keys + key)]);
}

int64_t RunData::prompt_tokens() const {
  int64_t n = 0;
  for (const auto& t : tokens) n += t.phase == TokenPhase::Prompt;
  return n;
}

int64_t RunData::generated_tokens() const {
  return int64_t(tokens.size()) - prompt_tokens();
}

int32_t RunData::intern(const std::string& s) {
  for (size_t i = 0; i < strings.size(); ++i)
    if (strings[i] == s) return int32_t(i);
  strings.push_back(s);
  return int32_t(strings.size() - 1);
}

}  // namespace moescope::storage
