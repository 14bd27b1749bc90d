// tokenizer.tok.json: parsing and validation, BPE by rank (tiktoken's byte_pair_merge: merge
// the adjacent pair whose concatenation has the lowest rank, leftmost first, until none is in
// the vocabulary), special-token scanning, and decoding.
#include "engine/tokenizer/tiktoken_tokenizer.h"

#include <algorithm>
#include <climits>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <unordered_map>

#include "engine/core/error.h"
#include "engine/tokenizer/v1_split.h"

namespace moescope {

namespace {

using nlohmann::json;

// Heterogeneous lookup: find a std::string key with a string_view, without allocating.
struct Hash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using RankMap = std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>>;

constexpr uint32_t kNoRank = UINT32_MAX;

std::set<std::string> grok2_allowed_specials() {
  std::set<std::string> s = {"<|pad|>", "<|separator|>", "<|eos|>"};
  for (int i = 1; i <= 704; ++i) s.insert(cat("<|control", i, "|>"));
  for (int i = 3; i <= 127; ++i) s.insert(cat("<|reserved_", i, "|>"));
  return s;
}

class TiktokenTokenizer final : public Tokenizer {
 public:
  explicit TiktokenTokenizer(const std::string& path) {
    path_ = path;
    parse(read(path));
  }

  std::vector<int32_t> encode(std::string_view text) const override {
    std::vector<int32_t> ids;
    size_t start = 0;
    while (start <= text.size()) {
      auto [at, len, id] = next_special(text, start);
      encode_ordinary(text.substr(start, at - start), ids);
      if (len == 0) break;
      ids.push_back(id);
      start = at + len;
    }
    return ids;
  }

  std::string decode(std::span<const int32_t> ids) const override {
    std::string bytes;
    for (int32_t id : ids) bytes += token_bytes(id);
    return utf8_decode_replace(bytes);
  }

  std::string piece(int32_t id) const override { return token_bytes(id); }
  int64_t vocab_size() const override { return n_vocab_; }
  int32_t bos_id() const override { return bos_; }
  int32_t eos_id() const override { return eos_; }
  std::string kind() const override { return "tiktoken"; }

 private:
  static json read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path, ": cannot open the tokenizer file");
    std::ostringstream text;
    text << in.rdbuf();
    try {
      return json::parse(text.str());
    } catch (const json::exception& e) {
      fail(path, ": not valid JSON (", e.what(), ")");
    }
  }

  template <typename... Args>
  [[noreturn]] void bad(Args&&... args) const {
    fail(path_, ": ", std::forward<Args>(args)...);
  }

  std::string bytes_of(const json& v, const std::string& where) const {
    if (!v.is_array()) bad(where, " must be a list of byte values, got ", v.dump());
    std::string out;
    for (size_t i = 0; i < v.size(); ++i) {
      if (!v[i].is_number_integer() || v[i].get<int64_t>() < 0 || v[i].get<int64_t>() > 255)
        bad(where, "[", i, "] is ", v[i].dump(), ", expected a byte 0..255");
      out.push_back(char(v[i].get<int>()));
    }
    if (out.empty()) bad(where, " is empty");
    return out;
  }

  // Reads one list of {"bytes", "token"} entries into (bytes, id) pairs.
  std::vector<std::pair<std::string, int32_t>> entries(const json& doc, const char* key) const {
    std::vector<std::pair<std::string, int32_t>> out;
    if (!doc.contains(key)) return out;
    const json& list = doc[key];
    if (!list.is_array()) bad("\"", key, "\" must be a list of {\"bytes\", \"token\"} objects");
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string where = cat(key, "[", i, "]");
      const json& e = list[i];
      if (!e.is_object() || !e.contains("bytes") || !e.contains("token"))
        bad(where, " must be an object with \"bytes\" and \"token\"");
      const json& t = e["token"];
      if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() >= INT32_MAX)
        bad(where, ".token is ", t.dump(), ", expected a token id >= 0");
      out.emplace_back(bytes_of(e["bytes"], where + ".bytes"), t.get<int32_t>());
    }
    return out;
  }

  void parse(const json& doc) {
    if (!doc.is_object()) bad("expected a JSON object with \"regular_tokens\"");
    if (!doc.contains("regular_tokens")) bad("field \"regular_tokens\" is missing");
    const std::string split = doc.value("word_split", std::string());
    if (!doc.contains("word_split") || !doc["word_split"].is_string() || split != "V1")
      bad("field \"word_split\" is ",
          doc.contains("word_split") ? doc["word_split"].dump() : std::string("missing"),
          ", expected \"V1\"");
    if (doc.contains("pat_str")) {
      if (!doc["pat_str"].is_string() || doc["pat_str"].get<std::string>() != kV1Pattern)
        bad("field \"pat_str\" is ", doc["pat_str"].dump().substr(0, 80),
            ", which is not supported: only the V1 pattern ", kV1Pattern,
            " is implemented (word_split \"V1\")");
    }

    std::set<int32_t> ids;
    int32_t max_id = -1;
    for (auto& [bytes, id] : entries(doc, "regular_tokens")) {
      if (!ranks_.emplace(bytes, uint32_t(id)).second)
        bad("regular_tokens: the byte sequence of token ", id, " appears twice");
      if (!ids.insert(id).second) bad("regular_tokens: token id ", id, " appears twice");
      max_id = std::max(max_id, id);
    }
    if (ranks_.empty()) bad("\"regular_tokens\" is empty");
    for (int b = 0; b < 256; ++b)
      if (!ranks_.count(std::string(1, char(b))))
        bad("regular_tokens lacks the single byte ", b,
            "; a byte-level BPE needs all 256 bytes to encode any text");

    std::set<std::string> allowed = grok2_allowed_specials();
    if (doc.contains("default_allowed_special")) {
      const json& d = doc["default_allowed_special"];
      if (!d.is_array()) bad("\"default_allowed_special\" must be a list of byte lists");
      for (size_t i = 0; i < d.size(); ++i)
        allowed.insert(bytes_of(d[i], cat("default_allowed_special[", i, "]")));
    }
    for (auto& [text, id] : entries(doc, "special_tokens")) {
      if (!ids.insert(id).second)
        bad("special token '", text, "' has id ", id, ", which another token already has");
      if (!specials_.emplace(text, id).second) bad("special token '", text, "' appears twice");
      max_id = std::max(max_id, id);
      if (allowed.count(text)) {
        allowed_.emplace(text, id);
        special_first_bytes_.insert(static_cast<unsigned char>(text[0]));
        special_lengths_.insert(text.size());
      }
    }
    n_vocab_ = int64_t(max_id) + 1;
    if (doc.contains("vocab_size")) {
      const json& v = doc["vocab_size"];
      if (!v.is_number_integer() || v.get<int64_t>() != int64_t(ids.size()) ||
          v.get<int64_t>() != n_vocab_)
        bad("field \"vocab_size\" is ", v.dump(), ", but the file has ", ids.size(),
            " tokens with ids up to ", max_id, " (expected both to be vocab_size, ids dense)");
    }
    decoder_.assign(size_t(n_vocab_), std::string());
    has_id_.assign(size_t(n_vocab_), false);
    for (const auto& [bytes, rank] : ranks_) decoder_[rank] = bytes, has_id_[rank] = true;
    for (const auto& [text, id] : specials_)
      decoder_[size_t(id)] = text, has_id_[size_t(id)] = true;

    // vLLM's Grok-2 mapping: no BOS is ever added; bos_token_id reports the separator.
    auto special = [&](const char* s) {
      auto it = specials_.find(s);
      return it == specials_.end() ? -1 : it->second;
    };
    eos_ = special("<|eos|>");
    bos_ = special("<|separator|>");
  }

  const std::string& token_bytes(int32_t id) const {
    if (id < 0 || id >= n_vocab_ || !has_id_[size_t(id)])
      fail(path_, ": token id ", id, " is not in the vocabulary of ", n_vocab_, " ids");
    return decoder_[size_t(id)];
  }

  struct Found {
    size_t at, len;
    int32_t id;
  };

  // The leftmost allowed special token at or after start (the longest one at that position);
  // {text.size(), 0, -1} when there is none.
  Found next_special(std::string_view text, size_t start) const {
    if (!allowed_.empty())
      for (size_t i = start; i < text.size(); ++i) {
        if (!special_first_bytes_.count(static_cast<unsigned char>(text[i]))) continue;
        for (auto len = special_lengths_.rbegin(); len != special_lengths_.rend(); ++len) {
          if (*len > text.size() - i) continue;
          auto it = allowed_.find(text.substr(i, *len));
          if (it != allowed_.end()) return {i, *len, it->second};
        }
      }
    return {text.size(), 0, -1};
  }

  void encode_ordinary(std::string_view text, std::vector<int32_t>& ids) const {
    std::vector<std::string_view> pieces;
    v1_split(text, pieces);
    for (std::string_view p : pieces) {
      auto it = ranks_.find(p);
      if (it != ranks_.end()) {
        ids.push_back(int32_t(it->second));
        continue;
      }
      byte_pair_encode(p, ids);
    }
  }

  uint32_t rank_of(std::string_view s) const {
    auto it = ranks_.find(s);
    return it == ranks_.end() ? kNoRank : it->second;
  }

  // tiktoken's byte_pair_merge: parts[i] = (start, rank of piece[start .. start of i+2]).
  void byte_pair_encode(std::string_view piece, std::vector<int32_t>& ids) const {
    std::vector<std::pair<size_t, uint32_t>> parts;
    parts.reserve(piece.size() + 1);
    std::pair<uint32_t, size_t> min_rank{kNoRank, SIZE_MAX};
    for (size_t i = 0; i + 1 < piece.size(); ++i) {
      uint32_t r = rank_of(piece.substr(i, 2));
      if (r < min_rank.first) min_rank = {r, i};
      parts.emplace_back(i, r);
    }
    parts.emplace_back(piece.size() - 1, kNoRank);
    parts.emplace_back(piece.size(), kNoRank);
    auto get_rank = [&](size_t i) {
      if (i + 3 < parts.size())
        return rank_of(piece.substr(parts[i].first, parts[i + 3].first - parts[i].first));
      return kNoRank;
    };
    while (min_rank.first != kNoRank) {
      size_t i = min_rank.second;
      if (i > 0) parts[i - 1].second = get_rank(i - 1);
      parts[i].second = get_rank(i);
      parts.erase(parts.begin() + long(i) + 1);
      min_rank = {kNoRank, SIZE_MAX};
      for (size_t k = 0; k + 1 < parts.size(); ++k)
        if (parts[k].second < min_rank.first) min_rank = {parts[k].second, k};
    }
    for (size_t k = 0; k + 1 < parts.size(); ++k) {
      std::string_view s = piece.substr(parts[k].first, parts[k + 1].first - parts[k].first);
      ids.push_back(int32_t(rank_of(s)));
    }
  }

  RankMap ranks_;
  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> specials_, allowed_;
  std::set<unsigned char> special_first_bytes_;
  std::set<size_t> special_lengths_;
  std::vector<std::string> decoder_;
  std::vector<bool> has_id_;
  int64_t n_vocab_ = 0;
  int32_t bos_ = -1, eos_ = -1;
};

}  // namespace

bool is_tiktoken_file(const std::string& path) {
  const std::string ext = ".tok.json";
  return path.size() >= ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0;
}

std::unique_ptr<Tokenizer> load_tiktoken_tokenizer(const std::string& path) {
  return std::make_unique<TiktokenTokenizer>(path);
}

}  // namespace moescope
