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
  // Anything else views point into: mapped pickles and archives, transposed ckpt-0 buffers.
  std::vector<std::shared_ptr<const void>> keep_alive;
  size_t owned_bytes = 0;  // bytes of tensors built at load (joined, transposed, re-aligned)

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
// Grok-1's JAX ckpt-0 directory (jax_checkpoint.h): pickles of numpy arrays and
// QuantizedWeight8bit, checked against checkpoint_config(dir) and exposed under hpcai-tech names
// in [out, in] layout (int8 matrices transposed into owned buffers with "<name>_scale" [out, G]).
CheckpointParts load_jax_layout(const std::string& dir);
// torch .bin files (zip archives written by torch.save): pytorch_model.bin.index.json when
// index_path is not empty, else every file named (*.bin).
CheckpointParts load_torch_layout(const std::string& dir, const std::string& index_path,
                                  const std::vector<std::string>& names);
// Layout 3: every file named, in the order given.
CheckpointParts load_plain_layout(const std::string& dir, const std::vector<std::string>& names);

// True when name looks like a TP-presharded file: *-TP-common.safetensors or *-TP-NNN.safetensors.
bool is_tp_file_name(const std::string& name);

}  // namespace moescope::weights_detail
