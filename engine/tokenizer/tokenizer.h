// Text <-> token ids. One interface for the tokenizers of the Grok family: SentencePiece for
// Grok-1 and Mixtral (tokenizer.model), and Grok-2's tiktoken-style tokenizer.tok.json
// (tiktoken_tokenizer.h). Encoding never adds BOS (grok-architecture.md 5.1, 5.2).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace moescope {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  virtual std::vector<int32_t> encode(std::string_view text) const = 0;
  // Ids outside the vocabulary throw moescope::Error.
  virtual std::string decode(std::span<const int32_t> ids) const = 0;
  // The vocabulary entry of one id as stored (e.g. "▁the", "<0x0A>", "[EOS]").
  virtual std::string piece(int32_t id) const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual int32_t bos_id() const = 0;
  virtual int32_t eos_id() const = 0;
  virtual std::string kind() const = 0;
  const std::string& path() const { return path_; }

 protected:
  std::string path_;
};

// Loads a tokenizer file by its format (*.model: SentencePiece; *.tok.json: tiktoken-style).
// Throws naming the file.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);

// The tokenizer file inside a model directory (tokenizer.tok.json, else tokenizer.model), or ""
// when there is none.
std::string find_tokenizer_file(const std::string& model_dir);

// The text token ids[p] adds in context: decode(ids[w..p]) minus decode(ids[w..p-1]) over a
// short window w, so a piece's leading space shows; a piece that only completes part of a
// character (byte fallback) shows as its vocabulary entry instead.
std::string token_text_in_context(const Tokenizer& tok, std::span<const int32_t> ids, size_t p);

// Streams generated text: decode(prompt + generated) minus decode(prompt), so SentencePiece's
// leading-space and byte-fallback pieces come out right. Holds back a trailing incomplete UTF-8
// sequence until the next token completes it.
class TextStream {
 public:
  TextStream(const Tokenizer& tok, std::span<const int32_t> prompt);
  // Appends one id; returns the new printable text (possibly empty).
  std::string push(int32_t id);
  // Whatever is still held back (at the end of generation).
  std::string flush();

 private:
  const Tokenizer& tok_;
  std::vector<int32_t> ids_;
  size_t prompt_chars_ = 0;
  size_t emitted_ = 0;
};

}  // namespace moescope
