// The fuzz harness: each feed_* hands one input to a parser exactly as moescope reads such a
// file, then touches everything the parser returned (every tensor's first and last byte, every
// run's rows), so that AddressSanitizer sees any view that points outside its buffer.
//
// Bad input must end in moescope::Error, which these let through to the caller. Anything else
// -- another exception type, a crash, a sanitizer report, a hang -- is a bug. The libFuzzer
// targets (fuzz_*.cpp) and the regression suite (test_fuzz_inputs.cpp) share these functions.
#pragma once

#include <string>
#include <string_view>

namespace moescope::fuzz {

// A safetensors file: 8-byte header length, JSON header, data.
void feed_safetensors(std::string_view bytes);
// The text of a config.json.
void feed_config_json(std::string_view bytes);
// A pickle, read under both allow-lists (torch state dicts, then Grok-1 ckpt-0 numpy arrays);
// the ckpt-0 reading decodes an array or QuantizedWeight8bit root as the loader does, and its
// error is the one passed on.
void feed_pickle(std::string_view bytes);
// A tokenizer file. The first byte picks the format (even: SentencePiece tokenizer.model,
// odd: tiktoken-style tokenizer.tok.json), the rest is the file; a fixed text is then encoded,
// decoded, and pieces looked up.
void feed_tokenizer_file(std::string_view bytes);
// A trace file: opened with TraceFile, every run listed, loaded and refreshed.
void feed_trace_file(std::string_view bytes);

// A scratch file for the parsers that read files: `name` in a directory private to this
// process (in /dev/shm when there is one, so each input costs no disk write).
std::string scratch_path(const std::string& name);

}  // namespace moescope::fuzz
