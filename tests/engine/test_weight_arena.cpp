// The arena the packed weights live in (engine/weights/weight_arena.h): aligned, zeroed,
// non-overlapping pieces on 2 MiB aligned blocks. Whether the kernel backs them with huge pages
// depends on the system (transparent_hugepage), so that is not asserted here; bench --ceilings
// and tests/bench measure what it buys.
#include "engine/weights/weight_arena.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

namespace moescope {
namespace {

constexpr size_t kMiB = size_t(1) << 20;

TEST(WeightArena, PiecesAreAlignedZeroedAndDisjoint) {
  WeightArena arena(4 * kMiB);
  std::vector<std::pair<uintptr_t, size_t>> pieces;
  for (size_t bytes : {size_t(1), size_t(100), size_t(64), 3 * kMiB, size_t(4096), 2 * kMiB}) {
    auto* p = static_cast<unsigned char*>(arena.take(bytes));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u) << bytes << " bytes";
    EXPECT_TRUE(std::all_of(p, p + bytes, [](unsigned char c) { return c == 0; }));
    std::memset(p, 0xA5, bytes);  // writable, to its last byte
    pieces.emplace_back(reinterpret_cast<uintptr_t>(p), bytes);
  }
  std::sort(pieces.begin(), pieces.end());
  for (size_t i = 1; i < pieces.size(); ++i)
    EXPECT_LE(pieces[i - 1].first + pieces[i - 1].second, pieces[i].first);
  // Each block is a whole number of 2 MiB pages, at least the requested 4 MiB: the 3 MiB and
  // 2 MiB pieces cannot share the first block's remaining space.
  EXPECT_EQ(arena.mapped_bytes() % (2 * kMiB), 0u);
  EXPECT_GE(arena.mapped_bytes(), 8 * kMiB);
}

TEST(WeightArena, ARequestLargerThanABlockGetsABlockOfItsOwn) {
  WeightArena arena(2 * kMiB);
  auto* big = static_cast<unsigned char*>(arena.take(9 * kMiB + 1));
  big[9 * kMiB] = 1;
  EXPECT_EQ(reinterpret_cast<uintptr_t>(big) % (2 * kMiB), 0u);  // a block's start
  EXPECT_EQ(arena.mapped_bytes(), 10 * kMiB);
}

TEST(WeightArena, HugePageAdviceNeedsAWholeHugePage) {
  std::vector<char> small(4096);
  EXPECT_FALSE(advise_huge_pages(small.data(), small.size()));
}

}  // namespace
}  // namespace moescope
