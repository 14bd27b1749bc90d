#include "engine/tokenizer/chat_template.h"

#include "engine/tokenizer/unicode/unicode_tables.h"
#include "engine/tokenizer/v1_split.h"

namespace moescope {

namespace {

// Python's str.strip(): drops leading and trailing characters for which isspace() is true.
std::string python_strip(const std::string& s) {
  size_t begin = 0, end = s.size();
  // Forward: skip space characters.
  while (begin < end) {
    size_t len;
    bool valid;
    char32_t c = utf8_next(s, begin, len, valid);
    if (!valid || !unicode::is_python_space(c)) break;
    begin += len;
  }
  // Backward: find the start of each trailing character by walking over continuation bytes.
  while (end > begin) {
    size_t start = end - 1;
    while (start > begin && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    size_t len;
    bool valid;
    char32_t c = utf8_next(s, start, len, valid);
    if (!valid || start + len != end || !unicode::is_python_space(c)) break;
    end = start;
  }
  return s.substr(begin, end - begin);
}

}  // namespace

std::string apply_chat_template(const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt) {
  std::string out;
  for (const ChatMessage& m : messages) {
    if (m.role == "user")
      out += "Human: " + python_strip(m.content) + "<|separator|>\n\n";
    else if (m.role == "system")
      out += "System: " + python_strip(m.content) + "<|separator|>\n\n";
    else if (m.role == "assistant")
      out += "Assistant: " + m.content + "<|separator|>\n\n";
  }
  if (add_generation_prompt) out += "Assistant:";
  return out;
}

}  // namespace moescope
