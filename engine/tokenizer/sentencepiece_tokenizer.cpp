// SentencePiece tokenizer (Grok-1's tokenizer.model and relatives).
#include <sentencepiece_processor.h>
#include <sys/stat.h>

#include "engine/core/error.h"
#include "engine/tokenizer/tiktoken_tokenizer.h"
#include "engine/tokenizer/tokenizer.h"

namespace moescope {

namespace {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(const std::string& path) {
    path_ = path;
    auto status = sp_.Load(path);
    if (!status.ok()) fail(path, ": cannot load the SentencePiece model (", status.ToString(), ")");
  }

  std::vector<int32_t> encode(std::string_view text) const override {
    std::vector<int> ids;
    auto status = sp_.Encode(std::string(text), &ids);
    if (!status.ok()) fail(path_, ": encoding failed (", status.ToString(), ")");
    return {ids.begin(), ids.end()};
  }

  std::string decode(std::span<const int32_t> ids) const override {
    std::vector<int> v(ids.begin(), ids.end());
    for (int id : v)
      if (id < 0 || id >= sp_.GetPieceSize())
        fail(path_, ": token id ", id, " is outside the vocabulary of ", sp_.GetPieceSize());
    std::string out;
    auto status = sp_.Decode(v, &out);
    if (!status.ok()) fail(path_, ": decoding failed (", status.ToString(), ")");
    return out;
  }

  std::string piece(int32_t id) const override {
    if (id < 0 || id >= sp_.GetPieceSize())
      fail(path_, ": token id ", id, " is outside the vocabulary of ", sp_.GetPieceSize());
    return sp_.IdToPiece(id);
  }

  int64_t vocab_size() const override { return sp_.GetPieceSize(); }
  int32_t bos_id() const override { return sp_.bos_id(); }
  int32_t eos_id() const override { return sp_.eos_id(); }
  std::string kind() const override { return "sentencepiece"; }

 private:
  sentencepiece::SentencePieceProcessor sp_;
};

bool exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  if (!exists(path))
    fail(path,
         ": tokenizer file not found (expected a SentencePiece .model or a tiktoken-style "
         ".tok.json)");
  if (path.size() >= 6 && path.compare(path.size() - 6, 6, ".model") == 0)
    return std::make_unique<SentencePieceTokenizer>(path);
  if (is_tiktoken_file(path)) return load_tiktoken_tokenizer(path);
  fail(path,
       ": unknown tokenizer format (expected a SentencePiece tokenizer.model or a tiktoken-style "
       "tokenizer.tok.json)");
}

std::string find_tokenizer_file(const std::string& model_dir) {
  // Grok-2 ships tokenizer.tok.json; Grok-1 and Mixtral tokenizer.model.
  for (const char* name : {"/tokenizer.tok.json", "/tokenizer.model"}) {
    std::string p = model_dir + name;
    if (exists(p)) return p;
  }
  return "";
}

}  // namespace moescope
