// Checkpoint: finds which layout a directory uses and hands it to that layout's loader.
//
// The plain layout and the bookkeeping every layout shares (opening files, refusing a tensor
// name that two files both define) live here; index.json and TP-presharded loading have their own
// files.
#include "engine/weights/checkpoint.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "engine/core/error.h"
#include "engine/weights/checkpoint_config.h"
#include "engine/weights/checkpoint_parts.h"

namespace moescope {

namespace weights_detail {

std::string join_path(const std::string& dir, const std::string& name) {
  return (std::filesystem::path(dir) / name).string();
}

const SafetensorsFile& CheckpointParts::open_file(const std::string& path) {
  mapped.push_back(SafetensorsFile::open(path));
  files.push_back(path);
  return *mapped.back();
}

void CheckpointParts::add(const TensorView& view) {
  auto [it, inserted] = tensors.emplace(view.name, view);
  if (!inserted)
    fail("tensor '", view.name, "' is defined twice: in ", it->second.file, " and in ", view.file,
         " (each tensor must come from exactly one file)");
}

void CheckpointParts::add_all(const SafetensorsFile& f) {
  for (const auto& [name, view] : f.tensors()) add(view);
}

CheckpointParts load_plain_layout(const std::string& dir, const std::vector<std::string>& names) {
  CheckpointParts parts;
  for (const std::string& name : names) parts.add_all(parts.open_file(join_path(dir, name)));
  return parts;
}

}  // namespace weights_detail

namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Weight files in formats this loader does not read, to say so when no safetensors are found.
std::string other_weight_files(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names)
    for (const char* ext : {".pt", ".pth", ".ckpt", ".gguf", ".pkl", ".npy"})
      if (ends_with(n, ext)) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

std::shared_ptr<Checkpoint> Checkpoint::open(const std::string& dir) {
  using namespace weights_detail;
  std::error_code ec;
  fs::file_status st = fs::status(dir, ec);
  if (!fs::exists(st)) fail("checkpoint directory '", dir, "' does not exist");
  if (!fs::is_directory(st))
    fail("checkpoint path '", dir,
         "' is not a directory (expected a directory holding *.safetensors files)");

  std::string index = join_path(dir, "model.safetensors.index.json");
  CheckpointParts parts;
  if (fs::is_regular_file(index, ec)) {
    parts = load_index_layout(dir, index);
  } else {
    std::vector<std::string> weights, all;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::string name = it->path().filename().string();
      all.push_back(name);
      // is_regular_file follows symlinks, as in the Hugging Face cache's snapshot folders.
      std::error_code file_ec;
      if (ends_with(name, ".safetensors") && it->is_regular_file(file_ec)) weights.push_back(name);
    }
    if (ec) fail("checkpoint directory '", dir, "' cannot be listed: ", ec.message());
    std::vector<std::string> bins;
    for (const std::string& name : all)
      if (ends_with(name, ".bin") && fs::is_regular_file(join_path(dir, name), ec))
        bins.push_back(name);
    std::sort(bins.begin(), bins.end());
    std::string bin_index = join_path(dir, "pytorch_model.bin.index.json");
    if (weights.empty() && fs::is_regular_file(bin_index, ec)) {
      parts = load_torch_layout(dir, bin_index, {});
    } else if (weights.empty() && !bins.empty()) {
      parts = load_torch_layout(dir, "", bins);
    } else if (weights.empty() && is_jax_checkpoint_dir(dir)) {
      parts = load_jax_layout(dir);
    } else if (weights.empty()) {
      std::string others = other_weight_files(all);
      fail("checkpoint directory '", dir,
           "' has no weights: looked for model.safetensors.index.json, *-TP-common.safetensors / "
           "*-TP-NNN.safetensors, *.safetensors, *.bin and ckpt-0's tensor00000_000, found none "
           "(a config.json alone is not enough)",
           others.empty() ? "" : "; found " + others + ", which must be converted to safetensors");
    } else {
      std::sort(weights.begin(), weights.end());
      bool tp = std::any_of(weights.begin(), weights.end(), is_tp_file_name);
      parts = tp ? load_tp_layout(dir, weights) : load_plain_layout(dir, weights);
    }
  }

  auto ckpt = std::make_shared<Checkpoint>();
  ckpt->dir_ = dir;
  ckpt->files_ = std::move(parts.files);
  ckpt->mapped_ = std::move(parts.mapped);
  ckpt->owned_ = std::move(parts.owned);
  ckpt->tensors_ = std::move(parts.tensors);
  ckpt->keep_alive_ = std::move(parts.keep_alive);
  ckpt->owned_bytes_ = parts.owned_bytes;
  for (const auto& bytes : ckpt->owned_) ckpt->owned_bytes_ += bytes.size();
  return ckpt;
}

const TensorView* Checkpoint::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  out.reserve(tensors_.size());
  for (const auto& [name, view] : tensors_) out.push_back(name);
  return out;
}

}  // namespace moescope
