// The writer's bounded queue: records come out in order and intact, the byte bound holds, drops
// are counted per run and kind, control records always get through, and tokens keep a reserve
// that bulk events cannot take.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "storage/event_queue.h"

namespace moescope {
namespace {

using storage::EventQueue;
using storage::QueueChunk;
using storage::RecordHeader;
using storage::RecordKind;

struct Seen {
  RecordKind kind;
  int64_t run;
  std::vector<uint8_t> payload;
};

std::vector<Seen> drain(EventQueue& q) {
  std::vector<QueueChunk> chunks;
  q.take(chunks, std::chrono::steady_clock::now());
  std::vector<Seen> out;
  for (QueueChunk& c : chunks) {
    for (size_t at = 0; at < c.used;) {
      RecordHeader h;
      std::memcpy(&h, c.data.get() + at, sizeof(h));
      const uint8_t* p = c.data.get() + at + sizeof(h);
      out.push_back({h.kind, h.run, std::vector<uint8_t>(p, p + h.bytes)});
      at += storage::record_size(h.bytes);
    }
    q.release(std::move(c));
  }
  return out;
}

bool push_bytes(EventQueue& q, RecordKind kind, int64_t run, size_t n, uint8_t fill) {
  return q.push(kind, run, n, [&](uint8_t* d) { std::memset(d, fill, n); });
}

TEST(EventQueue, RecordsComeOutInOrderAndIntact) {
  EventQueue q(1 << 20);
  for (int i = 0; i < 1000; ++i)
    ASSERT_TRUE(
        push_bytes(q, i % 2 ? RecordKind::Op : RecordKind::Routing, i, size_t(i % 37), uint8_t(i)));
  const auto seen = drain(q);
  ASSERT_EQ(seen.size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(seen[size_t(i)].run, i);
    EXPECT_EQ(seen[size_t(i)].kind, i % 2 ? RecordKind::Op : RecordKind::Routing);
    ASSERT_EQ(seen[size_t(i)].payload.size(), size_t(i % 37));
    for (uint8_t b : seen[size_t(i)].payload) ASSERT_EQ(b, uint8_t(i));
  }
  EXPECT_EQ(q.total_drops().total(), 0);
}

TEST(EventQueue, BoundHoldsAndDropsAreCountedPerRunAndKind) {
  const size_t cap = 8192;
  EventQueue q(cap);
  int pushed = 0;
  for (int i = 0; i < 100; ++i) pushed += push_bytes(q, RecordKind::Routing, 1, 200, 1);
  for (int i = 0; i < 10; ++i) pushed += push_bytes(q, RecordKind::Attention, 2, 200, 1);
  EXPECT_LE(q.peak_bytes(), cap);
  EXPECT_LT(pushed, 100);
  const auto drops = q.take_drops();
  ASSERT_EQ(drops.size(), 2u);
  EXPECT_EQ(drops.at(1).routing, 100 - pushed);
  EXPECT_EQ(drops.at(2).attention, 10);
  EXPECT_TRUE(q.take_drops().empty()) << "take_drops hands each drop over once";
  EXPECT_EQ(q.total_drops().routing + q.total_drops().attention, 110 - pushed);

  // Tokens still fit in the reserve that bulk records may not use; control records always do.
  while (push_bytes(q, RecordKind::Op, 1, 8, 0)) {
  }
  EXPECT_LE(q.peak_bytes(), cap - cap / 16);
  EXPECT_TRUE(push_bytes(q, RecordKind::Token, 1, 64, 0));
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(push_bytes(q, RecordKind::EndRun, 1, 64, 0));

  // Released chunks give their bytes back.
  drain(q);
  EXPECT_TRUE(push_bytes(q, RecordKind::Routing, 1, 200, 1));
}

TEST(EventQueue, TakeWaitsForControlRecordsOrTheDeadline) {
  EventQueue q(1 << 20);
  std::vector<QueueChunk> chunks;
  const auto t0 = std::chrono::steady_clock::now();
  q.take(chunks, t0 + std::chrono::milliseconds(20));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(19));
  EXPECT_TRUE(chunks.empty());

  std::thread producer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    push_bytes(q, RecordKind::Flush, 0, 8, 0);
  });
  q.take(chunks, std::chrono::steady_clock::now() + std::chrono::seconds(30));
  producer.join();
  ASSERT_EQ(chunks.size(), 1u);
  for (QueueChunk& c : chunks) q.release(std::move(c));
}

}  // namespace
}  // namespace moescope
