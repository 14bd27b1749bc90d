// A minimal reader of zip archives as torch.save writes them: stored (uncompressed) entries,
// ZIP64 when the archive is large. The archive is memory-mapped; entries are views into it.
//
// Compressed or encrypted entries, multi-disk archives and entries that reach past the end of
// the file are refused with moescope::Error naming the archive, the entry and the byte offset.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/weights/mapped_file.h"

namespace moescope {

class ZipArchive {
 public:
  struct Entry {
    std::string name;
    const uint8_t* data = nullptr;  // into the mapping
    size_t size = 0;
    size_t offset = 0;  // of the data in the file
  };

  // Maps path and reads its central directory. what describes the file in messages.
  static std::shared_ptr<ZipArchive> open(const std::string& path, const std::string& what);

  const std::string& path() const { return file_->path(); }
  const std::vector<Entry>& entries() const { return entries_; }
  // The entry called name, or null.
  const Entry* find(const std::string& name) const;
  const std::shared_ptr<MappedFile>& file() const { return file_; }

 private:
  std::shared_ptr<MappedFile> file_;
  std::vector<Entry> entries_;
};

}  // namespace moescope
