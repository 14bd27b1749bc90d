#include "engine/weights/weight_arena.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "engine/core/error.h"

namespace moescope {

namespace {

constexpr size_t kHugePage = size_t(2) << 20;
constexpr size_t kAlign = 64;  // a cache line: the kernels' widest vector

size_t round_up(size_t n, size_t to) {
  return (n + to - 1) / to * to;
}

}  // namespace

bool advise_huge_pages(void* data, size_t bytes) {
#ifdef MADV_HUGEPAGE
  const uintptr_t begin = round_up(reinterpret_cast<uintptr_t>(data), kHugePage);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) / kHugePage * kHugePage;
  if (end <= begin) return false;
  return ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE) == 0;
#else
  (void)data;
  (void)bytes;
  return false;
#endif
}

WeightArena::WeightArena(size_t min_block_bytes)
    : min_block_(round_up(min_block_bytes == 0 ? kHugePage : min_block_bytes, kHugePage)) {}

WeightArena::~WeightArena() {
  for (const Block& b : blocks_) ::munmap(b.base, b.size);
}

void* WeightArena::take(size_t bytes) {
  bytes = round_up(bytes == 0 ? 1 : bytes, kAlign);
  if (blocks_.empty() || blocks_.back().size - blocks_.back().used < bytes) {
    const size_t size = round_up(bytes > min_block_ ? bytes : min_block_, kHugePage);
    // One huge page more than needed, so that the block can start on a 2 MiB boundary; the
    // unaligned head and the tail are unmapped again.
    void* raw = ::mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
      fail("out of memory for weights: mapping ", size >> 20, " MiB failed (", std::strerror(errno),
           ")");
    const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t aligned = round_up(start, kHugePage);
    if (aligned > start) ::munmap(raw, aligned - start);
    const uintptr_t tail = aligned + size, end = start + size + kHugePage;
    if (end > tail) ::munmap(reinterpret_cast<void*>(tail), end - tail);
    char* base = reinterpret_cast<char*>(aligned);
    advise_huge_pages(base, size);
    blocks_.push_back(Block{base, size, 0});
  }
  Block& b = blocks_.back();
  void* p = b.base + b.used;
  b.used += bytes;
  return p;
}

size_t WeightArena::mapped_bytes() const {
  size_t n = 0;
  for (const Block& b : blocks_) n += b.size;
  return n;
}

}  // namespace moescope
