// What a checkpoint layout loader produces, and the loaders (internal to engine/weights).
//
// Each layout (index.json, Grok-2 TP-presharded, plain directory) fills a CheckpointParts; the
// Checkpoint takes it over. Apart from Checkpoint, each loader's file holds one layout only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/weights/safetensors.h"

namespace moescope::weights_detail {

struct CheckpointParts {
  std::vector<std::string> files;  // opened, in order
  std::vector<std::shared_ptr<SafetensorsFile>> mapped;
  std::vector<std::vector<uint8_t>> owned;  // bytes of joined tensors; views point into them
  std::map<std::string, TensorView> tensors;

  // Opens and validates path, keeping the mapping alive as long as the parts.
  const SafetensorsFile& open_file(const std::string& path);
  // Adds a tensor under view.name. A name already present is an error naming both files.
  void add(const TensorView& view);
  // Adds every tensor of f.
  void add_all(const SafetensorsFile& f);
};

// dir/name as a string.
std::string join_path(const std::string& dir, const std::string& name);

// Layout 1: dir/model.safetensors.index.json maps every tensor to its shard file.
CheckpointParts load_index_layout(const std::string& dir, const std::string& index_path);
// Layout 2: Grok-2's *-TP-common.safetensors and *-TP-NNN.safetensors (file names, not paths).
CheckpointParts load_tp_layout(const std::string& dir, const std::vector<std::string>& names);
// Layout 3: every file named, in the order given.
CheckpointParts load_plain_layout(const std::string& dir, const std::vector<std::string>& names);

// True when name looks like a TP-presharded file: *-TP-common.safetensors or *-TP-NNN.safetensors.
bool is_tp_file_name(const std::string& name);

}  // namespace moescope::weights_detail
