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
#include <utility>
#include <vector>

namespace moescope {

// Releases the whole pages inside each (data, bytes) range that lies in a read-only private file
// mapping; other ranges are left alone. Returns the bytes released. Never throws.
size_t release_file_pages(const std::vector<std::pair<const void*, size_t>>& ranges);

}  // namespace moescope
