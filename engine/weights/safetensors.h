// Reading safetensors files: an 8-byte little-endian header length N, N bytes of JSON
// ({"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}), then
// the data. The file is memory-mapped; tensors are views into the mapping.
//
// open() validates everything before returning: N fits in the file, the JSON parses, every dtype
// is known, every shape's element count times the dtype size equals end - begin, every range lies
// inside the data region and no two ranges overlap. Any failure throws moescope::Error naming the
// file (and the tensor) and what was expected.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cpu/dtype.h"

namespace moescope {

using kernels::DType;

// A tensor found in a checkpoint: where its bytes are and what they mean.
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t nbytes = 0;
  std::string file;  // the file it came from, for error messages
  // Built at load (joined, transposed, re-aligned) rather than a view into a mapped file.
  bool owned = false;

  int64_t numel() const;
  std::string shape_string() const;  // "[256, 64]"
};

class SafetensorsFile {
 public:
  // Maps and validates path. Throws moescope::Error.
  static std::shared_ptr<SafetensorsFile> open(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  // The tensor called name, or null.
  const TensorView* find(const std::string& name) const;
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  SafetensorsFile() = default;
  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

// A tensor to write: name, dtype, shape and raw bytes (numel * dtype_size).
struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
};

// Writes a safetensors file (tensors in the order given). Throws moescope::Error on IO errors.
// The header is padded with spaces so the data region starts 8-byte aligned. Tensors follow each
// other with no gaps, because readers such as the reference safetensors library reject gaps: a
// tensor is 8-byte aligned when the sizes before it are multiples of 8, and aligned to its own
// element size when larger dtypes come first. Writes path + ".tmp" and renames it over path, so a
// failure never leaves a partial file at path.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace moescope
