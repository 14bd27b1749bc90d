// Tokenizers: the real Grok-1 SentencePiece model encodes exactly as grok-architecture.md 5.1
// records (skipped when ../shared/data/grok1/tokenizer.model is absent); streamed decoding equals
// whole decoding; bad files and ids fail clearly.
#include <gtest/gtest.h>

#include "engine/core/error.h"
#include "engine/tokenizer/tokenizer.h"
#include "tests/common/test_paths.h"

namespace moescope {
namespace {

std::string grok1_tokenizer() {
  return test::shared_dir() + "/data/grok1/tokenizer.model";
}

class Grok1Tokenizer : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::file_exists(grok1_tokenizer())) GTEST_SKIP() << grok1_tokenizer() << " not present";
    tok_ = load_tokenizer(grok1_tokenizer());
  }
  std::unique_ptr<Tokenizer> tok_;
};

TEST_F(Grok1Tokenizer, RunPyPromptEncodesToTheReferenceIds) {
  EXPECT_EQ(tok_->vocab_size(), 131072);
  EXPECT_EQ(tok_->encode("The answer to life the universe and everything is of course"),
            (std::vector<int32_t>{422, 3033, 356, 1180, 333, 9072, 360, 2175, 391, 359, 1805}));
}

TEST_F(Grok1Tokenizer, DigitsTabsAndNewlines) {
  EXPECT_EQ(tok_->encode("123456"), (std::vector<int32_t>{130089, 15, 16, 17, 18, 19, 20}));
  EXPECT_EQ(tok_->encode("Hello\tworld\n"), (std::vector<int32_t>{11770, 24, 8455, 4}));
  EXPECT_EQ(tok_->bos_id(), 1);
  EXPECT_EQ(tok_->eos_id(), 2);
  EXPECT_EQ(tok_->piece(130089), "\xE2\x96\x81");  // the lone U+2581
}

TEST_F(Grok1Tokenizer, DecodeInvertsEncode) {
  const std::string text = "Grok-1 has 314B parameters; naïve café ☕ 中文.\n\tIndented.";
  EXPECT_EQ(tok_->decode(tok_->encode(text)), text);
}

TEST_F(Grok1Tokenizer, StreamingEqualsWholeDecoding) {
  const std::vector<int32_t> prompt = tok_->encode("Once upon a time");
  const std::vector<int32_t> more = tok_->encode(" there was café ☕ and 中文 text.");
  TextStream stream(*tok_, prompt);
  std::string streamed;
  for (int32_t id : more) streamed += stream.push(id);
  streamed += stream.flush();
  std::vector<int32_t> all = prompt;
  all.insert(all.end(), more.begin(), more.end());
  EXPECT_EQ(tok_->decode(prompt) + streamed, tok_->decode(all));
}

TEST_F(Grok1Tokenizer, ByteFallbackIsNotSplitMidCharacter) {
  // The bytes of U+1F600 as byte-fallback pieces <0xF0><0x9F><0x98><0x80> (ids 69 + byte).
  const std::vector<int32_t> bytes = {69 + 0xF0, 69 + 0x9F, 69 + 0x98, 69 + 0x80};
  TextStream stream(*tok_, tok_->encode("smile"));
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string piece = stream.push(bytes[i]);
    if (i + 1 < bytes.size()) {
      EXPECT_EQ(piece, "") << "emitted part of a character at byte " << i;
    }
    out += piece;
  }
  EXPECT_EQ(out, "\xF0\x9F\x98\x80");
}

TEST(Tokenizer, MissingFileAndBadIds) {
  try {
    load_tokenizer("/nonexistent/tokenizer.model");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/tokenizer.model"), std::string::npos);
  }
  const std::string dir = test::make_temp_dir("tok");
  const std::string bogus = dir + "/tokenizer.model";
  FILE* f = std::fopen(bogus.c_str(), "wb");
  std::fputs("this is not a protobuf", f);
  std::fclose(f);
  EXPECT_THROW(load_tokenizer(bogus), Error);

  auto tok = load_tokenizer(test::assets_dir() + "/tiny-grok1-random/tokenizer.model");
  const std::vector<int32_t> bad = {5, int32_t(tok->vocab_size())};
  try {
    tok->decode(bad);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("outside the vocabulary"), std::string::npos);
  }
}

}  // namespace
}  // namespace moescope
