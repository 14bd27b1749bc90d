#include "engine/weights/file_pages.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace moescope {

FilePages::FilePages() : page_(uintptr_t(sysconf(_SC_PAGESIZE))) {
  FILE* f = std::fopen("/proc/self/maps", "r");
  if (!f) return;  // nothing is known to be a file mapping: nothing is released
  char line[4096];
  while (std::fgets(line, sizeof line, f)) {
    unsigned long begin, end, offset, inode;
    char perms[8], dev[16];
    int path_at = 0;
    if (std::sscanf(line, "%lx-%lx %7s %lx %15s %lu %n", &begin, &end, perms, &offset, dev, &inode,
                    &path_at) < 6)
      continue;
    if (inode == 0 || std::strcmp(perms, "r--p") != 0 || line[path_at] != '/') continue;
    maps_.push_back({uintptr_t(begin), uintptr_t(end)});
  }
  std::fclose(f);
  std::sort(maps_.begin(), maps_.end(),
            [](const Mapping& a, const Mapping& b) { return a.begin < b.begin; });
}

size_t FilePages::release(const void* data, size_t bytes) const {
  const uintptr_t b = uintptr_t(data), e = b + bytes;
  // The mapping holding b (the last one starting at or before it) must hold all of [b, e).
  auto it = std::upper_bound(maps_.begin(), maps_.end(), b,
                             [](uintptr_t v, const Mapping& m) { return v < m.begin; });
  if (it == maps_.begin()) return 0;
  --it;
  if (e > it->end) return 0;
  const uintptr_t pb = (b + page_ - 1) / page_ * page_, pe = e / page_ * page_;
  if (pe <= pb) return 0;
  return madvise(reinterpret_cast<void*>(pb), pe - pb, MADV_DONTNEED) == 0 ? pe - pb : 0;
}

}  // namespace moescope
