// Chunked bounded queue (see event_queue.h).
#include "storage/event_queue.h"

#include <algorithm>
#include <cstdint>
#include <new>

namespace moescope::storage {

namespace {

bool is_control(RecordKind k) {
  return k == RecordKind::BeginRun || k == RecordKind::EndRun || k == RecordKind::Flush ||
         k == RecordKind::Stop;
}

void count_drop(DropCounts& d, RecordKind k) {
  switch (k) {
    case RecordKind::Token:
      ++d.tokens;
      break;
    case RecordKind::Routing:
      ++d.routing;
      break;
    case RecordKind::Attention:
      ++d.attention;
      break;
    case RecordKind::Op:
      ++d.ops;
      break;
    case RecordKind::Memory:
      ++d.memory;
      break;
    default:
      break;
  }
}

// Large enough that a chunk holds thousands of small records, small enough that a tiny bound
// (the tests use a few KB) still means something.
size_t chunk_bytes_for(size_t capacity) {
  return std::clamp<size_t>(capacity / 8, 4096, size_t(1) << 20);
}

}  // namespace

EventQueue::EventQueue(size_t capacity_bytes)
    : capacity_(capacity_bytes),
      bulk_limit_(capacity_bytes - capacity_bytes / 16),
      chunk_bytes_(chunk_bytes_for(capacity_bytes)) {}

uint8_t* EventQueue::reserve(RecordKind kind, int64_t run, size_t size, bool& notify) {
  const bool control = is_control(kind);
  if (!control) {
    const size_t limit = kind == RecordKind::Token ? capacity_ : bulk_limit_;
    if (size > UINT32_MAX || used_ + size > limit) {
      count_drop(drops_[run], kind);
      count_drop(total_drops_, kind);
      return nullptr;
    }
  }
  QueueChunk* tail = chunks_.empty() ? nullptr : &chunks_.back();
  if (!tail || tail->capacity - tail->used < size) {
    QueueChunk c;
    if (size <= chunk_bytes_ && !free_.empty()) {
      c = std::move(free_.back());
      free_.pop_back();
    } else {
      c.capacity = std::max(size, chunk_bytes_);
      // Out of memory is one more reason to drop a data record: a sink call never throws.
      c.data.reset(control ? new uint8_t[c.capacity] : new (std::nothrow) uint8_t[c.capacity]);
      if (!c.data) {
        count_drop(drops_[run], kind);
        count_drop(total_drops_, kind);
        return nullptr;
      }
    }
    c.used = 0;
    chunks_.push_back(std::move(c));
    tail = &chunks_.back();
  }
  uint8_t* dst = tail->data.get() + tail->used;
  tail->used += size;
  used_ += size;
  peak_ = std::max(peak_, used_);
  // Wake the consumer for control records (someone may be waiting on them) and when the queue
  // fills up; otherwise it wakes on its own schedule and takes a whole batch at once.
  if (!wake_ && (control || used_ > capacity_ / 4)) {
    wake_ = true;
    notify = true;
  }
  return dst;
}

void EventQueue::take(std::vector<QueueChunk>& out,
                      std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(mutex_);
  ready_.wait_until(lock, deadline, [&] { return wake_; });
  wake_ = false;
  for (QueueChunk& c : chunks_) out.push_back(std::move(c));
  chunks_.clear();
}

void EventQueue::release(QueueChunk&& chunk) {
  std::lock_guard<std::mutex> lock(mutex_);
  used_ -= chunk.used;
  // Keep a few chunks for reuse: a steady stream then allocates nothing.
  if (chunk.capacity == chunk_bytes_ && free_.size() < 16) {
    chunk.used = 0;
    free_.push_back(std::move(chunk));
  }
}

std::map<int64_t, DropCounts> EventQueue::take_drops() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::map<int64_t, DropCounts> out;
  out.swap(drops_);
  return out;
}

DropCounts EventQueue::total_drops() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return total_drops_;
}

size_t EventQueue::queued_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return used_;
}

size_t EventQueue::peak_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return peak_;
}

}  // namespace moescope::storage
