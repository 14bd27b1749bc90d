// The bounded queue between the engine's threads and the trace writer thread: variable-length
// records (a 16-byte header and a payload) packed into chunks of memory.
//
// Producers hold the mutex only to copy a record in; the consumer holds it only to move whole
// chunks out and to hand them back. Nothing here ever waits for the disk. Bytes count against the
// bound from the moment they are copied in until the consumer has finished with their chunk, so
// queue memory never exceeds the bound (plus one partly used chunk). When a record does not fit it
// is dropped and counted per run and kind; the writer stores the counts in the file.
//
// Control records (begin/end of a run, flush, stop) are never dropped: they are small, there are
// few of them, and losing one would leave a run marked running or a caller waiting forever.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "storage/run_data.h"

namespace moescope::storage {

enum class RecordKind : uint32_t {
  Token,
  Routing,
  Attention,
  Op,
  Memory,
  // Control records.
  BeginRun,
  EndRun,
  Flush,
  Stop,
};

struct RecordHeader {
  RecordKind kind;
  uint32_t bytes;  // payload bytes that follow, before padding to 8
  int64_t run;
};
static_assert(sizeof(RecordHeader) == 16);

// Payload bytes rounded up so that every header and payload stays 8-byte aligned.
inline size_t record_size(size_t payload) {
  return sizeof(RecordHeader) + ((payload + 7) & ~size_t(7));
}

struct QueueChunk {
  std::unique_ptr<uint8_t[]> data;
  size_t capacity = 0;
  size_t used = 0;
};

class EventQueue {
 public:
  explicit EventQueue(size_t capacity_bytes);

  // Copies one record in: fill(dst) writes `payload` bytes. Data records that would exceed the
  // bound are dropped (counted for run and kind) and false is returned. Routing, attention, op
  // and memory records stop at 15/16 of the bound so that tokens, tiny and always captured,
  // still fit.
  template <typename Fill>
  bool push(RecordKind kind, int64_t run, size_t payload, Fill&& fill) {
    const size_t size = record_size(payload);
    std::unique_lock<std::mutex> lock(mutex_);
    bool notify = false;
    uint8_t* dst = reserve(kind, run, size, notify);
    if (!dst) return false;
    RecordHeader h{kind, uint32_t(payload), run};
    std::memcpy(dst, &h, sizeof(h));
    fill(dst + sizeof(h));
    if (notify) {
      lock.unlock();
      ready_.notify_one();
    }
    return true;
  }

  // Consumer: waits until a control record arrives, the queue passes a quarter of its bound, or
  // `deadline`; then moves every queued chunk into out (in order).
  void take(std::vector<QueueChunk>& out, std::chrono::steady_clock::time_point deadline);
  // Consumer: a chunk is processed; its bytes no longer count against the bound.
  void release(QueueChunk&& chunk);
  // Drops counted since the last call, per run.
  std::map<int64_t, DropCounts> take_drops();
  // Every drop so far, over all runs.
  DropCounts total_drops() const;
  size_t peak_bytes() const;
  size_t queued_bytes() const;
  size_t capacity() const { return capacity_; }

 private:
  // With the mutex held: space for one record, or nullptr after counting a drop. notify: this
  // record is the one that should wake the consumer.
  uint8_t* reserve(RecordKind kind, int64_t run, size_t size, bool& notify);

  const size_t capacity_;
  const size_t bulk_limit_;  // routing / attention / ops stop here
  const size_t chunk_bytes_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::vector<QueueChunk> chunks_;  // filled in order; the last one is being filled
  std::vector<QueueChunk> free_;    // recycled chunks of chunk_bytes_
  size_t used_ = 0;                 // bytes of records not yet released by the consumer
  size_t peak_ = 0;
  bool wake_ = false;  // the consumer has been asked to wake (reset by take)
  std::map<int64_t, DropCounts> drops_;
  DropCounts total_drops_;
};

}  // namespace moescope::storage
