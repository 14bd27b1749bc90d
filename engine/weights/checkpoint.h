// A checkpoint directory: every tensor of a model, whatever the file layout.
//
// Layouts understood, in this order:
//   1. model.safetensors.index.json: {"weight_map": {tensor: file}} over sharded files; only the
//      files it names are opened and only the tensors it lists are exposed;
//   2. Grok-2's TP-presharded files *-TP-common.safetensors and *-TP-000..*-TP-00R.safetensors
//      (grok-architecture.md 4.3): per-rank expert slices are joined on load, w1/w3 along dim 0
//      and w2 along dim 1, into owned buffers; everything else comes from the common files (a
//      per-rank tensor with another name must be identical on every rank);
//   3. every *.safetensors file in the directory (a single model.safetensors is the usual case);
//   4. torch .bin files (HF ports): pytorch_model.bin.index.json, else every *.bin file;
//   5. Grok-1's JAX ckpt-0 directory (tensor00000_000 ...; jax_checkpoint.h), exposed under
//      hpcai-tech names in [out, in] layout, int8 matrices with "<name>_scale" tensors.
// A tensor name found in two files is an error. Missing files named by the index are errors.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/weights/safetensors.h"

namespace moescope {

class Checkpoint {
 public:
  // Opens the directory dir. Throws moescope::Error naming the directory or file.
  static std::shared_ptr<Checkpoint> open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  // The tensor called name, or null.
  const TensorView* find(const std::string& name) const;
  // All tensor names, sorted.
  std::vector<std::string> names() const;
  // The files that were opened, in order.
  const std::vector<std::string>& files() const { return files_; }
  // Bytes of the tensors built at load (joined TP slices, transposed ckpt-0 matrices, copies
  // re-aligned for their element type); the other tensors are views into mapped files.
  size_t owned_bytes() const { return owned_bytes_; }

 private:
  std::string dir_;
  std::vector<std::string> files_;
  std::vector<std::shared_ptr<SafetensorsFile>> mapped_;
  std::vector<std::vector<uint8_t>> owned_;  // joined tensors (TP layout)
  std::map<std::string, TensorView> tensors_;
  std::vector<std::shared_ptr<const void>> keep_alive_;
  size_t owned_bytes_ = 0;
};

}  // namespace moescope
