// Grok-2's tiktoken-style tokenizer against the tiktoken library: the golden file
// (tests/reference/fixtures/tiktoken/golden.json, written by make_checkpoint_fixtures.py) holds
// the ids tiktoken computes from the same tokenizer.tok.json for tricky strings (digits,
// contractions, whitespace runs, CRLF, tabs, non-ASCII, specials inside text), decodings of
// partial UTF-8, and chat-template renderings by jinja2. Plus the file's validation errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/tiktoken_tokenizer.h"
#include "engine/tokenizer/unicode/unicode_tables.h"
#include "engine/tokenizer/v1_split.h"
#include "tests/common/expect_error.h"
#include "tests/common/test_paths.h"

namespace moescope {
namespace {

using nlohmann::json;
using test::expect_error;

std::string fixture_dir() {
  return test::source_dir() + "/tests/reference/fixtures/tiktoken";
}
std::string tok_path() {
  return fixture_dir() + "/tokenizer.tok.json";
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return json::parse(s.str());
}

std::string show(const std::string& s) {
  return json(s).dump();  // escaped, for failure messages
}

class Tiktoken : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tok_ = load_tokenizer(tok_path()).release();
    golden_ = new json(read_json(fixture_dir() + "/golden.json"));
  }
  static void TearDownTestSuite() {
    delete tok_;
    delete golden_;
  }
  static Tokenizer* tok_;
  static json* golden_;
};
Tokenizer* Tiktoken::tok_ = nullptr;
json* Tiktoken::golden_ = nullptr;

TEST_F(Tiktoken, EncodesLikeTheTiktokenLibrary) {
  const json& cases = (*golden_)["encode"];
  ASSERT_GE(cases.size(), 93u);
  int agree = 0;
  for (const json& c : cases) {
    const std::string text = c["text"];
    const std::vector<int32_t> want = c["ids"].get<std::vector<int32_t>>();
    const std::vector<int32_t> got = tok_->encode(text);
    EXPECT_EQ(got, want) << "text " << show(text);
    agree += got == want;
  }
  std::printf("[ tiktoken ] %d of %zu strings encode to tiktoken %s's ids\n", agree, cases.size(),
              (*golden_)["tiktoken_version"].get<std::string>().c_str());
}

TEST_F(Tiktoken, DecodesLikeTheTiktokenLibrary) {
  for (const json& c : (*golden_)["encode"]) {
    const std::vector<int32_t> ids = c["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok_->decode(ids), c["text"].get<std::string>());
  }
  // Partial UTF-8 becomes U+FFFD per maximal ill-formed subsequence, as Python decodes it.
  for (const json& c : (*golden_)["decode"]) {
    const std::vector<int32_t> ids = c["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok_->decode(ids), c["text"].get<std::string>()) << c["ids"].dump();
  }
}

TEST_F(Tiktoken, ChatTemplateMatchesJinjaAndEncodes) {
  const json& cases = (*golden_)["chat"];
  ASSERT_GE(cases.size(), 4u);
  for (const json& c : cases) {
    std::vector<ChatMessage> messages;
    for (const json& m : c["messages"]) messages.push_back({m["role"], m["content"]});
    const std::string text = apply_chat_template(messages, c["add_generation_prompt"]);
    EXPECT_EQ(text, c["text"].get<std::string>()) << c["messages"].dump();
    EXPECT_EQ(tok_->encode(text), c["ids"].get<std::vector<int32_t>>()) << show(text);
  }
}

TEST_F(Tiktoken, VocabularyAndSpecialIds) {
  EXPECT_EQ(tok_->vocab_size(), (*golden_)["n_vocab"].get<int64_t>());
  EXPECT_EQ(tok_->kind(), "tiktoken");
  EXPECT_EQ(tok_->eos_id(), 2);  // <|eos|> = 2, as in Grok-2
  EXPECT_EQ(tok_->bos_id(), 1);  // vLLM reports the separator; encode never adds it
  EXPECT_EQ(tok_->piece(2), "<|eos|>");
  EXPECT_EQ(tok_->encode("<|eos|>"), std::vector<int32_t>{2});
  expect_error([&] { tok_->decode(std::vector<int32_t>{int32_t(tok_->vocab_size())}); },
               {"tokenizer.tok.json", "token id 2046", "not in the vocabulary"});
  expect_error([&] { tok_->piece(-1); }, {"token id -1"});
}

TEST(TiktokenFiles, FoundAndLoadedByFormat) {
  const std::string dir = test::make_temp_dir("tok-find");
  EXPECT_EQ(find_tokenizer_file(dir), "");
  std::filesystem::copy_file(test::assets_dir() + "/tiny-grok1-random/tokenizer.model",
                             dir + "/tokenizer.model");
  EXPECT_EQ(find_tokenizer_file(dir), dir + "/tokenizer.model");
  std::filesystem::copy_file(tok_path(), dir + "/tokenizer.tok.json");
  EXPECT_EQ(find_tokenizer_file(dir), dir + "/tokenizer.tok.json");  // Grok-2's comes first
  EXPECT_EQ(load_tokenizer(dir + "/tokenizer.tok.json")->kind(), "tiktoken");
  EXPECT_EQ(load_tokenizer(dir + "/tokenizer.model")->kind(), "sentencepiece");
  expect_error([&] { load_tokenizer(dir + "/vocab.txt"); }, {"vocab.txt", "not found"});
}

// A copy of the fixture with one change, written to a temp file.
std::string variant(const std::function<void(json&)>& edit) {
  json doc = read_json(tok_path());
  edit(doc);
  const std::string path = test::make_temp_dir("tok-bad") + "/tokenizer.tok.json";
  std::ofstream(path) << doc.dump();
  return path;
}

TEST(TiktokenFiles, PatStrMayRepeatTheV1Pattern) {
  auto tok = load_tokenizer(variant([](json& d) { d["pat_str"] = kV1Pattern; }));
  auto ref = load_tokenizer(tok_path());
  const std::string text = "Hello  world's 123\r\n\tcafé <|eos|>";
  EXPECT_EQ(tok->encode(text), ref->encode(text));
}

TEST(TiktokenFiles, BadFilesAreRefused) {
  expect_error([] { load_tokenizer(variant([](json& d) { d["word_split"] = "V2"; })); },
               {"tokenizer.tok.json", "word_split", "\"V2\"", "expected \"V1\""});
  expect_error([] { load_tokenizer(variant([](json& d) { d.erase("word_split"); })); },
               {"tokenizer.tok.json", "word_split", "missing"});
  expect_error(
      [] { load_tokenizer(variant([](json& d) { d["pat_str"] = R"(\p{L}+|\p{N}{1,3})"; })); },
      {"tokenizer.tok.json", "pat_str", "not supported", "V1"});
  expect_error([] { load_tokenizer(variant([](json& d) { d["vocab_size"] = 5000; })); },
               {"tokenizer.tok.json", "vocab_size", "5000", "2046"});
  expect_error(
      [] { load_tokenizer(variant([](json& d) { d["regular_tokens"][7]["bytes"][0] = 300; })); },
      {"tokenizer.tok.json", "regular_tokens[7].bytes[0]", "300", "0..255"});
  expect_error(
      [] {
        load_tokenizer(variant([](json& d) {
          auto& r = d["regular_tokens"];
          r.erase(r.begin());  // one single byte gone
          d.erase("vocab_size");
        }));
      },
      {"tokenizer.tok.json", "lacks the single byte"});
  expect_error(
      [] { load_tokenizer(variant([](json& d) { d["special_tokens"][0]["token"] = 5; })); },
      {"tokenizer.tok.json", "special token '<|pad|>'", "id 5"});
  expect_error([] { load_tokenizer(variant([](json& d) { d = json::array(); })); },
               {"tokenizer.tok.json", "expected a JSON object"});
}

TEST(V1Split, PiecesCoverTheTextForAnyBytes) {
  // Random byte strings, valid UTF-8 or not: the pieces always tile the input exactly.
  std::mt19937 rng(7);
  const std::string alphabet[] = {"a",    "Z",    " ", "  ",     "\n",    "\r\n", "\t",
                                  "'",    "'s",   "7", "é",      "日",    "👍",    "\xC3",
                                  "\xFF", "\x80", "!", "\u3000", "\u00a0"};
  for (int trial = 0; trial < 2000; ++trial) {
    std::string text;
    int n = int(rng() % 12);
    for (int i = 0; i < n; ++i) text += alphabet[rng() % std::size(alphabet)];
    std::vector<std::string_view> pieces;
    v1_split(text, pieces);
    std::string joined;
    for (auto p : pieces) {
      EXPECT_FALSE(p.empty());
      joined += p;
    }
    ASSERT_EQ(joined, text) << show(text);
  }
}

TEST(V1Split, SplitsLikeThePattern) {
  auto split = [](const std::string& s) {
    std::vector<std::string_view> p;
    v1_split(s, p);
    return std::vector<std::string>(p.begin(), p.end());
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(split("123"), (V{"1", "2", "3"}));
  EXPECT_EQ(split("I'M here"), (V{"I", "'M", " here"}));
  EXPECT_EQ(split("'Sup x'LLama 'Re"), (V{"'S", "up", " x", "'LL", "ama", " '", "Re"}));
  EXPECT_EQ(split("a  b"), (V{"a", " ", " b"}));
  EXPECT_EQ(split("x \n\n y"), (V{"x", " \n\n", " y"}));
  EXPECT_EQ(split("end   "), (V{"end", "   "}));
  EXPECT_EQ(split(" ?!\r\nx"), (V{" ?!\r\n", "x"}));
  EXPECT_EQ(split("\tfoo"), (V{"\tfoo"}));
}

TEST(Unicode, TablesClassifyCodePoints) {
  EXPECT_TRUE(unicode::is_letter(U'a'));
  EXPECT_TRUE(unicode::is_letter(U'ǅ'));        // Lt
  EXPECT_TRUE(unicode::is_letter(U'日'));       // Lo
  EXPECT_FALSE(unicode::is_letter(U'\u0301'));  // combining mark (Mn)
  EXPECT_TRUE(unicode::is_number(U'٣'));
  EXPECT_TRUE(unicode::is_number(U'½'));  // No
  EXPECT_FALSE(unicode::is_number(U'x'));
  EXPECT_TRUE(unicode::is_white_space(U'\u3000'));
  EXPECT_FALSE(unicode::is_white_space(U'\x1c'));  // not White_Space ...
  EXPECT_TRUE(unicode::is_python_space(U'\x1c'));  // ... but Python's isspace()
  EXPECT_FALSE(unicode::is_white_space(U'\u200b'));
}

}  // namespace
}  // namespace moescope
