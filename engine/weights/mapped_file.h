// A whole file mapped read-only into memory, unmapped when the last owner lets go.
//
// Readers of pickled and zipped checkpoints (ckpt-0, torch .bin) parse the mapping in place and
// hand out views into it; whoever keeps a view keeps the MappedFile alive (a shared_ptr).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace moescope {

class MappedFile {
 public:
  // Maps path. Throws moescope::Error naming the file (what describes the expected content,
  // e.g. "ckpt-0 tensor file").
  static std::shared_ptr<MappedFile> open(const std::string& path, const std::string& what);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  MappedFile() = default;
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace moescope
