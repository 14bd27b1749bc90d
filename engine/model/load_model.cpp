#include "engine/model/load_model.h"

#include <sys/stat.h>

#include "engine/core/error.h"
#include "engine/weights/checkpoint_config.h"

namespace moescope {

LoadedModel load_model(const std::string& dir, bool require_tokenizer,
                       const std::string& tokenizer_path) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    fail(dir, ": model directory not found (expected config.json, *.safetensors, tokenizer.model)");
  LoadedModel m;
  m.dir = dir;
  m.config = checkpoint_config(dir);  // config.json; the grok-1 preset for a bare ckpt-0
  m.checkpoint = Checkpoint::open(dir);
  m.weights = ModelWeights::load(m.checkpoint, m.config);
  std::string tok = tokenizer_path.empty() ? find_checkpoint_tokenizer(dir) : tokenizer_path;
  if (!tok.empty()) {
    m.tokenizer = load_tokenizer(tok);
    if (m.tokenizer->vocab_size() > m.config.vocab_size)
      fail(tok, ": the tokenizer has ", m.tokenizer->vocab_size(),
           " pieces but the model's vocab_size is ", m.config.vocab_size);
  } else if (require_tokenizer) {
    fail(dir,
         ": no tokenizer.tok.json or tokenizer.model in the model directory (needed to turn text "
         "into tokens; --tokenizer FILE names one)");
  }
  return m;
}

}  // namespace moescope
