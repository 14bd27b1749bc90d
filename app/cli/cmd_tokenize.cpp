// `moescope tokenize`: text -> ids (and pieces), or ids -> text with --decode.
#include <cstdio>
#include <cstdlib>

#include "app/cli/command_list.h"
#include "engine/core/error.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/weights/checkpoint_config.h"

namespace moescope::app {

namespace {

std::vector<int32_t> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ' || text[i] == ',' || text[i] == '\n' || text[i] == '\t' || text[i] == '[' ||
        text[i] == ']') {
      ++i;
      continue;
    }
    char* end = nullptr;
    long v = std::strtol(text.c_str() + i, &end, 10);
    if (end == text.c_str() + i)
      throw UsageError("--decode expects token ids separated by spaces or commas, got '" + text +
                       "'");
    ids.push_back(int32_t(v));
    i = size_t(end - text.c_str());
  }
  return ids;
}

}  // namespace

int cmd_tokenize(Args& args) {
  auto tok_path = args.value("tokenizer");
  auto model = args.value("model");
  const bool decode = args.flag("decode"), pieces = args.flag("pieces");
  std::vector<std::string> pos = args.positionals();
  if (pos.empty()) throw UsageError("missing TEXT");
  std::string text;
  for (size_t i = 0; i < pos.size(); ++i) text += (i ? " " : "") + pos[i];

  std::string path =
      tok_path ? *tok_path : find_checkpoint_tokenizer(model ? *model : default_model_dir());
  if (path.empty())
    fail(model ? *model : default_model_dir(),
         ": no tokenizer.tok.json or tokenizer.model found (--tokenizer FILE names one)");
  auto tok = load_tokenizer(path);

  if (decode) {
    std::printf("%s\n", tok->decode(parse_ids(text)).c_str());
    return 0;
  }
  std::vector<int32_t> ids = tok->encode(text);
  for (size_t i = 0; i < ids.size(); ++i) std::printf("%s%d", i ? " " : "", ids[i]);
  std::printf("\n");
  if (pieces) {
    for (int32_t id : ids) std::printf("%d\t%s\n", id, tok->piece(id).c_str());
  }
  return 0;
}

}  // namespace moescope::app
