// Reading a torch .bin checkpoint (torch.save of a state dict: a zip archive holding data.pkl
// and one data/<key> entry per storage), as HF ports such as hpcai-tech/grok-1 ship them.
//
// data.pkl is read by the restricted pickle reader with torch_policy(): the root must be a dict
// (OrderedDict) of name -> _rebuild_tensor_v2(persistent storage id, offset, size, stride,
// requires_grad, hooks[, metadata]); tensors must be contiguous and are views into the archive.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/weights/safetensors.h"
#include "engine/weights/torch/zip_reader.h"

namespace moescope {

struct TorchBin {
  std::shared_ptr<ZipArchive> archive;
  std::vector<TensorView> tensors;                 // in the order of the state dict
  std::vector<std::shared_ptr<const void>> owned;  // re-aligned copies, when a storage needed one
  size_t owned_bytes = 0;
};

// Opens path and decodes its state dict. Throws moescope::Error naming the file, the tensor or
// the byte offset, and what was expected.
TorchBin read_torch_bin(const std::string& path);

}  // namespace moescope
