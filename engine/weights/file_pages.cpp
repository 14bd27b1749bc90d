#include "engine/weights/file_pages.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace moescope {

namespace {

struct FileMapping {
  uintptr_t begin, end;
};

// The read-only private mappings of files (an inode, a path) of this process, sorted.
std::vector<FileMapping> read_only_file_mappings() {
  std::vector<FileMapping> out;
  FILE* f = std::fopen("/proc/self/maps", "r");
  if (!f) return out;
  char line[4096];
  while (std::fgets(line, sizeof line, f)) {
    unsigned long begin, end, offset, inode;
    char perms[8], dev[16];
    int path_at = 0;
    if (std::sscanf(line, "%lx-%lx %7s %lx %15s %lu %n", &begin, &end, perms, &offset, dev, &inode,
                    &path_at) < 6)
      continue;
    if (inode == 0 || std::strcmp(perms, "r--p") != 0 || line[path_at] != '/') continue;
    out.push_back({uintptr_t(begin), uintptr_t(end)});
  }
  std::fclose(f);
  std::sort(out.begin(), out.end(),
            [](const FileMapping& a, const FileMapping& b) { return a.begin < b.begin; });
  return out;
}

}  // namespace

size_t release_file_pages(const std::vector<std::pair<const void*, size_t>>& ranges) {
  if (ranges.empty()) return 0;
  const std::vector<FileMapping> maps = read_only_file_mappings();
  const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  size_t released = 0;
  for (const auto& [data, bytes] : ranges) {
    const uintptr_t b = uintptr_t(data), e = b + bytes;
    // The mapping holding b (the last one starting at or before it) must hold all of [b, e).
    auto it = std::upper_bound(maps.begin(), maps.end(), b,
                               [](uintptr_t v, const FileMapping& m) { return v < m.begin; });
    if (it == maps.begin()) continue;
    --it;
    if (e > it->end) continue;
    const uintptr_t pb = (b + page - 1) / page * page, pe = e / page * page;
    if (pe <= pb) continue;
    if (madvise(reinterpret_cast<void*>(pb), pe - pb, MADV_DONTNEED) == 0) released += pe - pb;
  }
  return released;
}

}  // namespace moescope
