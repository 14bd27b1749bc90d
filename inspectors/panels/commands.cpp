#include "inspectors/panels/commands.h"

#include <cctype>
#include <cstdlib>

namespace moescope::panels {

bool parse_index_list(const std::string& text, std::vector<int32_t>* out) {
  std::vector<int32_t> list;
  size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  auto number = [&](long* v) {
    skip_space();
    const size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == start || i - start > 6) return false;
    *v = std::strtol(text.c_str() + start, nullptr, 10);
    skip_space();
    return true;
  };
  skip_space();
  while (i < text.size()) {
    long a, b;
    if (!number(&a)) return false;
    b = a;
    if (i < text.size() && text[i] == '-') {
      ++i;
      if (!number(&b) || b < a || b - a > 100000) return false;
    }
    for (long v = a; v <= b; ++v) list.push_back(int32_t(v));
    if (i < text.size()) {
      if (text[i] != ',') return false;
      ++i;
    }
  }
  *out = std::move(list);
  return true;
}

std::string format_index_list(const std::vector<int32_t>& list) {
  std::string s;
  for (size_t i = 0; i < list.size();) {
    size_t j = i;
    while (j + 1 < list.size() && list[j + 1] == list[j] + 1) ++j;
    if (!s.empty()) s += ",";
    s += std::to_string(list[i]);
    if (j > i) s += "-" + std::to_string(list[j]);
    i = j + 1;
  }
  return s;
}

}  // namespace moescope::panels
