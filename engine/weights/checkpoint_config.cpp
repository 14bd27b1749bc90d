#include "engine/weights/checkpoint_config.h"

#include <filesystem>

#include "engine/tokenizer/tokenizer.h"

namespace moescope {

namespace fs = std::filesystem;

bool is_jax_checkpoint_dir(const std::string& dir) {
  std::error_code ec;
  return fs::is_regular_file(fs::path(dir) / "tensor00000_000", ec);
}

ModelConfig checkpoint_config(const std::string& dir) {
  std::error_code ec;
  const fs::path config = fs::path(dir) / "config.json";
  if (!fs::exists(config, ec) && is_jax_checkpoint_dir(dir)) {
    ModelConfig c = preset_config("grok-1");
    c.name = "grok-1 preset (" + dir + " is a ckpt-0 directory without config.json)";
    return c;
  }
  return load_model_config(config.string());
}

std::string find_checkpoint_tokenizer(const std::string& dir) {
  std::string found = find_tokenizer_file(dir);
  if (!found.empty() || !is_jax_checkpoint_dir(dir)) return found;
  std::error_code ec;
  fs::path p = fs::absolute(fs::path(dir), ec).lexically_normal();
  if (p.has_filename() == false) p = p.parent_path();
  for (int up = 0; up < 2 && p.has_parent_path() && p != p.parent_path(); ++up) {
    p = p.parent_path();
    found = find_tokenizer_file(p.string());
    if (!found.empty()) return found;
  }
  return "";
}

}  // namespace moescope
