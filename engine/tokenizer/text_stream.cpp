#include "engine/tokenizer/tokenizer.h"

namespace moescope {

namespace {

// Length of s without a trailing incomplete UTF-8 sequence (or a replacement character that a
// decoder produced for one), so streamed text never splits a character.
size_t complete_prefix(const std::string& s) {
  size_t n = s.size();
  // SentencePiece decodes each byte of an unfinished byte-fallback sequence to U+FFFD.
  static const std::string kReplacement = "\xEF\xBF\xBD";
  while (n >= 3 && s.compare(n - 3, 3, kReplacement) == 0) n -= 3;
  if (n < s.size()) return n;
  // Walk back over continuation bytes to the lead byte of the last character.
  size_t i = n, cont = 0;
  while (i > 0 && cont < 4 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80) --i, ++cont;
  if (i == 0) return n;
  unsigned char lead = static_cast<unsigned char>(s[i - 1]);
  size_t need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
  return cont < need ? i - 1 : n;
}

}  // namespace

std::string token_text_in_context(const Tokenizer& tok, std::span<const int32_t> ids, size_t p) {
  constexpr size_t kWindow = 4;  // enough preceding pieces for spaces and multi-byte characters
  const size_t w = p > kWindow ? p - kWindow : 0;
  const std::string with = tok.decode(ids.subspan(w, p + 1 - w));
  const std::string without = p > w ? tok.decode(ids.subspan(w, p - w)) : std::string();
  if (with.size() >= without.size() && with.compare(0, without.size(), without) == 0) {
    std::string text = with.substr(without.size());
    if (complete_prefix(text) == text.size() && !text.empty()) return text;
  }
  return tok.piece(ids[p]);
}

TextStream::TextStream(const Tokenizer& tok, std::span<const int32_t> prompt)
    : tok_(tok), ids_(prompt.begin(), prompt.end()) {
  prompt_chars_ = tok_.decode(ids_).size();
}

std::string TextStream::push(int32_t id) {
  ids_.push_back(id);
  std::string all = tok_.decode(ids_);
  size_t end = complete_prefix(all);
  size_t begin = prompt_chars_ + emitted_;
  if (end <= begin) return "";
  emitted_ = end - prompt_chars_;
  return all.substr(begin, end - begin);
}

std::string TextStream::flush() {
  std::string all = tok_.decode(ids_);
  size_t begin = prompt_chars_ + emitted_;
  if (all.size() <= begin) return "";
  emitted_ = all.size() - prompt_chars_;
  return all.substr(begin);
}

}  // namespace moescope
