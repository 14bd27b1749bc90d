// Handing the pages of read-only file mappings back to the page cache.
//
// A matrix read from a memory-mapped checkpoint occupies resident pages of this process once it
// has been read. When the CPU kernels work from a packed copy (cpu_packing.h), those pages are
// dead weight: released with madvise(MADV_DONTNEED), they stop counting in the process's memory,
// and the mapping stays valid (a later read faults them in again from the file). Anonymous
// memory would be zeroed by the same call, so a range is released only when /proc/self/maps
// shows it inside a private, read-only mapping of a file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace moescope {

// The read-only private file mappings of this process at construction (/proc/self/maps).
class FilePages {
 public:
  FilePages();
  // Releases the whole pages inside [data, data + bytes) when the range lies in one of those
  // mappings; leaves it alone otherwise. Returns the bytes released. Never throws.
  size_t release(const void* data, size_t bytes) const;

 private:
  struct Mapping {
    uintptr_t begin, end;
  };
  std::vector<Mapping> maps_;  // sorted by begin
  uintptr_t page_;
};

}  // namespace moescope
