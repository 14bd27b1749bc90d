// The "V1" pre-tokenizer of Grok-2's tiktoken-style tokenizer (grok-architecture.md 5.2),
// implemented by hand: the cl100k_base split pattern with single-digit numbers,
//
//   (?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N} | ?[^\s\p{L}\p{N}]+[\r\n]*
//   | \s*[\r\n]+ | \s+(?!\S) | \s+
//
// with the leftmost-first alternation of a backtracking regex (fancy_regex, which tiktoken
// uses): at each position the first alternative that matches wins. \p{L}, \p{N} and \s (the
// White_Space property) come from the generated tables in unicode/. Bytes that are not valid
// UTF-8 count as one character each, of none of those classes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace moescope {

// The V1 pattern as tiktoken spells it (a tok.json may repeat it as its pat_str).
extern const char* const kV1Pattern;

// Appends the pieces of text, in order; their concatenation is text.
void v1_split(std::string_view text, std::vector<std::string_view>& pieces);

// Decodes UTF-8 as Python's bytes.decode("utf-8", errors="replace") does: each maximal
// ill-formed subsequence becomes one U+FFFD.
std::string utf8_decode_replace(std::string_view bytes);

// Decodes one UTF-8 character at s[i]: sets len to its byte length (1 for an invalid byte) and
// returns the code point, or U+FFFD with valid = false for an invalid byte.
char32_t utf8_next(std::string_view s, size_t i, size_t& len, bool& valid);

}  // namespace moescope
