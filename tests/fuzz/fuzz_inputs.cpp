// The fuzz harness (see fuzz_inputs.h).
#include "tests/fuzz/fuzz_inputs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "engine/config/config_json.h"
#include "engine/config/model_config.h"
#include "engine/core/error.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/weights/pickle/numpy_array.h"
#include "engine/weights/pickle/pickle_reader.h"
#include "engine/weights/safetensors.h"
#include "storage/trace_file.h"

namespace moescope::fuzz {

volatile uint8_t touch_sink;  // external, so no unused-variable warning

namespace {

// Reads bytes into a volatile sink, so the compiler cannot drop the loads ASan checks.
void touch(const void* data, size_t nbytes) {
  if (!data || nbytes == 0) return;
  const auto* p = static_cast<const uint8_t*>(data);
  touch_sink = p[0];
  touch_sink = p[nbytes - 1];
}

std::string write_scratch(const std::string& name, std::string_view bytes) {
  const std::string path = scratch_path(name);
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), std::streamsize(bytes.size()));
  return path;
}

void touch_array(const pickle::NumpyArray& a) {
  touch(a.data, a.nbytes);
  (void)a.shape_string();
}

}  // namespace

std::string scratch_path(const std::string& name) {
  static const std::string dir = [] {
    struct stat st;
    const std::string base =
        stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    const std::string d = base + "/moescope-fuzz-" + std::to_string(getpid());
    mkdir(d.c_str(), 0700);
    return d;
  }();
  return dir + "/" + name;
}

void feed_safetensors(std::string_view bytes) {
  const auto file = SafetensorsFile::open(write_scratch("model.safetensors", bytes));
  for (const auto& [name, t] : file->tensors()) {
    touch(t.data, t.nbytes);
    (void)t.shape_string();
  }
  for (const auto& [k, v] : file->metadata()) touch(v.data(), v.size());
}

void feed_config_json(std::string_view bytes) {
  const ModelConfig c = parse_model_config(bytes, "fuzz/config.json");
  // A config that parses must be one the rest of the engine can use: valid and printable.
  c.validate();
  (void)config_to_json(c);
}

void feed_pickle(std::string_view bytes) {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  // The torch reading exercises the persistent-id paths; only the ckpt-0 reading's verdict is
  // passed on (a numpy pickle is refused by the torch allow-list, as it should be).
  try {
    const auto doc =
        pickle::read_pickle(data, bytes.size(), "fuzz/data.pkl", pickle::torch_policy());
    if (doc->root) (void)doc->root->describe();
  } catch (const Error&) {
  }
  const auto doc =
      pickle::read_pickle(data, bytes.size(), "fuzz/tensor00000_000", pickle::numpy_policy());
  if (!doc->root) return;
  (void)doc->root->describe();
  if (pickle::is_quantized_weight(*doc->root)) {
    const pickle::QuantizedWeight q = pickle::decode_quantized_weight(*doc->root, doc->file);
    touch_array(q.weight);
    touch_array(q.scales);
  } else if (pickle::is_numpy_array(*doc->root)) {
    touch_array(pickle::decode_numpy_array(*doc->root, doc->file, "the array"));
  }
}

void feed_tokenizer_file(std::string_view bytes) {
  if (bytes.empty()) return;
  const bool sentencepiece = (uint8_t(bytes[0]) & 1) == 0;
  const std::string path =
      write_scratch(sentencepiece ? "tokenizer.model" : "tokenizer.tok.json", bytes.substr(1));
  const auto tok = load_tokenizer(path);
  const std::vector<int32_t> ids = tok->encode(
      "And God said, \"Let there be light\": 1234 \xe2\x96\x81 \xc3\xa9t\xc3\xa9 <|eos|>\n");
  for (const int32_t id : ids) {
    if (id < 0 || id >= tok->vocab_size())
      fail(path, ": encode gave id ", id, " outside the vocabulary of ", tok->vocab_size());
    (void)tok->piece(id);
  }
  (void)tok->decode(ids);
  for (int32_t id = 0; id < tok->vocab_size() && id < 64; ++id) (void)tok->piece(id);
  (void)tok->bos_id();
  (void)tok->eos_id();
  // Out-of-range ids must be refused with an Error, not read out of bounds.
  const int32_t bad[] = {int32_t(tok->vocab_size())};
  try {
    tok->decode(bad);
  } catch (const Error&) {
    return;
  }
  throw std::logic_error("decode accepted an id outside the vocabulary");
}

void feed_trace_file(std::string_view bytes) {
  const std::string path = scratch_path("trace.db");
  // A previous input's WAL or shared memory must not be replayed onto this one.
  std::remove((path + "-wal").c_str());
  std::remove((path + "-shm").c_str());
  write_scratch("trace.db", bytes);
  const auto file = storage::TraceFile::open(path);
  for (const storage::RunSummary& s : file->runs()) {
    storage::RunData run = file->load(s.id);
    (void)file->refresh(run);
    // What the views index with must be in range, or a damaged file crashes the workbench: op
    // names and kinds index the string table, routed experts index the expert axis.
    for (const auto& t : run.tokens) touch(t.text.data(), t.text.size());
    for (const auto& op : run.ops)
      if (op.name < 0 || size_t(op.name) >= run.strings.size() || op.kind < 0 ||
          size_t(op.kind) >= run.strings.size())
        throw std::logic_error("an op's name or kind is outside the string table");
    for (const auto& l : run.routing) {
      touch(l.probs.data(), 4 * l.probs.size());
      if (l.present.empty()) continue;
      const size_t e = l.probs.size() / l.present.size(), k = l.ids.size() / l.present.size();
      for (size_t p = 0; p < l.present.size(); ++p)
        for (size_t j = 0; l.present[p] && j < k; ++j)
          if (l.ids[p * k + j] < 0 || size_t(l.ids[p * k + j]) >= e)
            throw std::logic_error("a routed expert id is outside the layer's experts");
    }
    for (const auto& a : run.attention) touch(a.probs_f16.data(), 2 * a.probs_f16.size());
  }
}

}  // namespace moescope::fuzz
