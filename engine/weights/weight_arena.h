// Memory for the weight matrices the CPU kernels stream, backed by transparent huge pages.
//
// Decode from DRAM reads every selected matrix once per token, front to back. With 4 KiB pages
// that stream crosses a page every 4 KiB: the CPU's L2 stream prefetcher stops at each page
// boundary and each new page costs a TLB walk. On 2 MiB pages a plain sequential read of 1 GiB
// went from 23-24 to 28-30 GB/s on one thread (this project's Zen 4 VM; Debian's default
// transparent_hugepage mode is "madvise", so memory gets huge pages only when asked). The arena
// asks: its blocks are anonymous mappings, 2 MiB aligned and advised MADV_HUGEPAGE, carved into
// 64-byte aligned pieces in order. Where the kernel gives no huge pages the memory is ordinary.
#pragma once

#include <cstddef>
#include <vector>

namespace moescope {

class WeightArena {
 public:
  // Blocks of at least min_block_bytes (rounded up to 2 MiB); a larger request gets a block of
  // its own size.
  explicit WeightArena(size_t min_block_bytes = size_t(64) << 20);
  ~WeightArena();
  WeightArena(const WeightArena&) = delete;
  WeightArena& operator=(const WeightArena&) = delete;

  // bytes of zeroed memory, 64-byte aligned, valid for the arena's lifetime. Throws
  // moescope::Error when the system has no memory for a new block.
  void* take(size_t bytes);

  // Bytes of the blocks mapped so far (what the pieces can use; untouched pages take no memory).
  size_t mapped_bytes() const;

 private:
  struct Block {
    char* base;
    size_t size, used;
  };
  size_t min_block_;
  std::vector<Block> blocks_;
};

// Advises [data, data + bytes) as transparent huge pages where it covers whole 2 MiB pages
// (MADV_HUGEPAGE): what the arena does to each new block (declared here for its test). Returns
// whether the advice was taken. Never throws.
bool advise_huge_pages(void* data, size_t bytes);

}  // namespace moescope
