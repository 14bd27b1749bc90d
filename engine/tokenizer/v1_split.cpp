#include "engine/tokenizer/v1_split.h"

#include "engine/tokenizer/unicode/unicode_tables.h"

namespace moescope {

const char* const kV1Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

namespace {

// Length of the well-formed UTF-8 sequence starting at s[i] (Unicode Table 3-7), or the length
// of its maximal ill-formed prefix as a negative number (at least -1).
int sequence_length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  int need;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return -1;
  }
  for (int k = 1; k <= need; ++k) {
    if (i + size_t(k) >= s.size()) return -k;
    const unsigned char x = b(i + size_t(k));
    const bool ok = k == 1 ? (x >= lo && x <= hi) : (x >= 0x80 && x <= 0xBF);
    if (!ok) return -k;
  }
  return need + 1;
}

struct Chars {
  std::vector<char32_t> cp;
  std::vector<size_t> at;  // byte offset of each character, plus the end
  std::vector<bool> valid;
};

bool is_nl(char32_t c) {
  return c == '\r' || c == '\n';
}

}  // namespace

char32_t utf8_next(std::string_view s, size_t i, size_t& len, bool& valid) {
  int n = sequence_length(s, i);
  if (n < 0) {
    len = 1;
    valid = false;
    return 0xFFFD;
  }
  len = size_t(n);
  valid = true;
  const auto b = [&](size_t k) { return char32_t(static_cast<unsigned char>(s[i + k])); };
  switch (n) {
    case 1:
      return b(0);
    case 2:
      return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3:
      return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default:
      return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
}

std::string utf8_decode_replace(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    int n = sequence_length(bytes, i);
    if (n > 0) {
      out.append(bytes.substr(i, size_t(n)));
      i += size_t(n);
    } else {
      out += "\xEF\xBF\xBD";
      i += size_t(-n);
    }
  }
  return out;
}

void v1_split(std::string_view text, std::vector<std::string_view>& pieces) {
  Chars c;
  for (size_t i = 0; i < text.size();) {
    size_t len;
    bool valid;
    char32_t cp = utf8_next(text, i, len, valid);
    c.cp.push_back(cp);
    c.at.push_back(i);
    c.valid.push_back(valid);
    i += len;
  }
  c.at.push_back(text.size());
  const size_t n = c.cp.size();
  auto L = [&](size_t i) { return c.valid[i] && unicode::is_letter(c.cp[i]); };
  auto N = [&](size_t i) { return c.valid[i] && unicode::is_number(c.cp[i]); };
  auto S = [&](size_t i) { return c.valid[i] && unicode::is_white_space(c.cp[i]); };
  auto NL = [&](size_t i) { return is_nl(c.cp[i]); };
  auto other = [&](size_t i) { return !S(i) && !L(i) && !N(i); };  // [^\s\p{L}\p{N}]
  auto lower = [&](size_t i) -> char32_t {
    char32_t x = c.cp[i];
    return x >= 'A' && x <= 'Z' ? x + 32 : x;
  };

  size_t i = 0;
  while (i < n) {
    size_t j = i;
    // 1. Contractions, ASCII case-insensitive.
    if (c.cp[i] == '\'' && i + 1 < n) {
      const char32_t a = lower(i + 1);
      const char32_t b = i + 2 < n ? lower(i + 2) : 0;
      if (a == 's' || a == 't' || a == 'm' || a == 'd')
        j = i + 2;
      else if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
        j = i + 3;
    }
    // 2. An optional non-letter, non-number, non-newline character, then letters.
    if (j == i) {
      if (!NL(i) && !L(i) && !N(i) && i + 1 < n && L(i + 1)) {
        j = i + 1;
        while (j < n && L(j)) ++j;
      } else if (L(i)) {
        while (j < n && L(j)) ++j;
      }
    }
    // 3. One number character.
    if (j == i && N(i)) j = i + 1;
    // 4. An optional space, other characters, then newlines.
    if (j == i) {
      if (c.cp[i] == ' ' && i + 1 < n && other(i + 1))
        j = i + 1;
      else if (other(i))
        j = i;
      if (j > i || other(i)) {
        while (j < n && other(j)) ++j;
        while (j < n && NL(j)) ++j;
      }
    }
    // 5.-7. Whitespace: up to the last newline of the run; else the run less its last
    // character when a non-space follows; else the whole run (or the one character).
    if (j == i) {
      size_t w = i;
      while (w < n && S(w)) ++w;
      size_t last_nl = n;
      for (size_t k = i; k < w; ++k)
        if (NL(k)) last_nl = k;
      if (last_nl != n)
        j = last_nl + 1;
      else if (w == n || w - i == 1)
        j = w;
      else
        j = w - 1;
    }
    pieces.push_back(text.substr(c.at[i], c.at[j] - c.at[i]));
    i = j;
  }
}

}  // namespace moescope
