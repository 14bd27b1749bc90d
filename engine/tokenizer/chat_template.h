// Grok-2's chat template (grok-architecture.md 5.2; identical in SGLang and vLLM):
//   user       "Human: " + content.strip() + "<|separator|>\n\n"
//   system     "System: " + content.strip() + "<|separator|>\n\n"
//   assistant  "Assistant: " + content + "<|separator|>\n\n"   (not stripped)
//   other roles are skipped; add_generation_prompt appends "Assistant:" (no trailing space).
// strip() is Python's: it removes the characters str.isspace() accepts.
#pragma once

#include <string>
#include <vector>

namespace moescope {

struct ChatMessage {
  std::string role;     // "user", "system", "assistant"
  std::string content;  // UTF-8
};

std::string apply_chat_template(const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt);

}  // namespace moescope
