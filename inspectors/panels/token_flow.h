// Tokens laid out as running text (wrapped at a width, newlines honoured), one box per token so
// each can be coloured and hovered. Appending tokens extends the layout without redoing it;
// a new width or font size redoes it. Used by the prompt console.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace moescope::panels {

struct TokenBox {
  int64_t token = 0;          // position in the run
  float x = 0, y = 0, w = 0;  // in layout pixels from the top-left; height = line height
  uint32_t text_begin = 0, text_len = 0;  // the part of the token's display text in this box
};

class TokenFlow {
 public:
  // Starts over when width or line height differ from the last call, or reset() was called.
  void begin(float width, float line_height);
  void reset() { boxes_.clear(), tokens_ = 0, x_ = y_ = 0, width_ = -1; }
  // Adds the next token; measure(text) returns the pixel width of a piece of text.
  template <class Measure>
  void add(const std::string& text, Measure&& measure);
  size_t tokens() const { return tokens_; }
  const std::vector<TokenBox>& boxes() const { return boxes_; }
  float height() const { return y_ + line_h_; }
  // Index of the first box whose line ends below y (binary search).
  size_t first_box_below(float y) const;
  // The token under (x, y), or -1.
  int64_t token_at(float x, float y) const;

 private:
  std::vector<TokenBox> boxes_;
  size_t tokens_ = 0;
  float width_ = -1, line_h_ = 0, x_ = 0, y_ = 0;
};

template <class Measure>
void TokenFlow::add(const std::string& text, Measure&& measure) {
  const int64_t token = int64_t(tokens_++);
  uint32_t begin = 0;
  bool any = false;
  // One box per line the token's text spans; a newline moves to the next line.
  for (uint32_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] != '\n') continue;
    const uint32_t len = i - begin;
    if (len > 0 || !any) {
      float w = len ? measure(text.substr(begin, len)) : 0.0f;
      if (!len) w = 4.0f;  // an empty or newline-only token still gets a hoverable sliver
      if (x_ + w > width_ && x_ > 0) {
        x_ = 0;
        y_ += line_h_;
      }
      boxes_.push_back({token, x_, y_, w, begin, len});
      x_ += w;
      any = true;
    }
    if (i < text.size()) {
      x_ = 0;
      y_ += line_h_;
    }
    begin = i + 1;
  }
}

}  // namespace moescope::panels
