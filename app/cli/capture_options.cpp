#include "app/cli/capture_options.h"

#include <cstdlib>

namespace moescope::app {

std::vector<int32_t> parse_index_list(const std::string& text, const std::string& option) {
  std::vector<int32_t> out;
  size_t i = 0;
  auto bad = [&]() -> UsageError {
    return UsageError("--" + option + " expects indices like 0,2,5-7; got '" + text + "'");
  };
  while (i < text.size()) {
    char* end = nullptr;
    long a = std::strtol(text.c_str() + i, &end, 10);
    if (end == text.c_str() + i || a < 0) throw bad();
    long b = a;
    i = size_t(end - text.c_str());
    if (i < text.size() && text[i] == '-') {
      b = std::strtol(text.c_str() + i + 1, &end, 10);
      if (end == text.c_str() + i + 1 || b < a) throw bad();
      i = size_t(end - text.c_str());
    }
    for (long v = a; v <= b; ++v) out.push_back(int32_t(v));
    if (i < text.size()) {
      if (text[i] != ',') throw bad();
      ++i;
    }
  }
  if (out.empty()) throw bad();
  return out;
}

trace::CaptureSettings capture_options(Args& args) {
  trace::CaptureSettings c;
  c.routing = !args.flag("no-routing");
  c.ops = !args.flag("no-ops");
  c.prompt_logprobs = !args.flag("no-prompt-logprobs");
  c.attention = args.flag("attention");
  if (auto v = args.value("attention-layers"))
    c.attention_layers = parse_index_list(*v, "attention-layers");
  if (auto v = args.value("attention-heads"))
    c.attention_heads = parse_index_list(*v, "attention-heads");
  if (auto v = args.value("attention-steps")) {
    const size_t colon = v->find(':');
    char* end = nullptr;
    c.attention_first_step = std::strtoll(v->c_str(), &end, 10);
    bool ok =
        colon != std::string::npos && end == v->c_str() + colon && c.attention_first_step >= 0;
    if (ok && colon + 1 < v->size()) {
      c.attention_last_step = std::strtoll(v->c_str() + colon + 1, &end, 10);
      ok = *end == '\0' && c.attention_last_step >= c.attention_first_step;
    }
    if (!ok)
      throw UsageError("--attention-steps expects FIRST:LAST (LAST may be empty); got '" + *v +
                       "'");
  }
  c.attention_prompt_max_cells =
      args.integer("attention-prompt-cells", c.attention_prompt_max_cells);
  const int64_t mb = args.integer("attention-budget-mb", c.attention_budget_bytes >> 20);
  if (mb < 0 || c.attention_prompt_max_cells < 1)
    throw UsageError("--attention-budget-mb must be >= 0 and --attention-prompt-cells >= 1");
  c.attention_budget_bytes = mb << 20;
  c.memory_interval_ms = args.integer("memory-interval-ms", c.memory_interval_ms);
  if (c.memory_interval_ms < 0) throw UsageError("--memory-interval-ms must be >= 0 (0 = off)");
  const bool attention_detail = !c.attention_layers.empty() || !c.attention_heads.empty();
  if (attention_detail && !c.attention)
    throw UsageError("--attention-layers/--attention-heads need --attention");
  return c;
}

}  // namespace moescope::app
