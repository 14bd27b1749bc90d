// Grok-2's tiktoken-style tokenizer (tokenizer.tok.json, grok-architecture.md 5.2): byte-level
// BPE by rank over the pieces of the V1 pre-tokenizer, with special tokens recognised inside
// the text.
//
// File: {"regular_tokens": [{"bytes": [..], "token": id}, ...] (BPE mergeable ranks, rank = id),
// "special_tokens": [...] (same shape; the bytes spell the special string), "word_split": "V1",
// optional "pat_str" (only the V1 pattern itself is accepted), optional "vocab_size" (must equal
// the number of ids, as tiktoken's explicit_n_vocab), optional "default_allowed_special".
//
// Encoding follows vLLM's Grok-2 tokenizer (V-tok2): never adds BOS; the allowed special tokens
// are default_allowed_special, <|pad|>, <|separator|>, <|eos|>, <|control1..704|> and
// <|reserved_3..127|>; any other special string in the text is encoded as ordinary text.
// Decoding replaces invalid UTF-8 with U+FFFD like tiktoken's decode().
#pragma once

#include <memory>
#include <string>

#include "engine/tokenizer/tokenizer.h"

namespace moescope {

// Loads a tokenizer.tok.json. Throws moescope::Error naming the file and the field.
std::unique_ptr<Tokenizer> load_tiktoken_tokenizer(const std::string& path);

// True when path names a tiktoken-style JSON tokenizer (*.tok.json).
bool is_tiktoken_file(const std::string& path);

}  // namespace moescope
