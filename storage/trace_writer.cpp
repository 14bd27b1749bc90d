// The asynchronous trace writer: sink calls copy events into the EventQueue; one thread drains
// it, feeds the TraceModel and writes the TraceStore in batched transactions.
//
// Commit policy: a transaction is committed commit_interval_ms after it was opened, when it holds
// more than kMaxTransactionBytes, at a flush, at the end of a run, and at shutdown. A failure of
// the file (SQLite error) is recorded once; from then on the thread keeps draining the queue and
// feeding the model, and counts what it can no longer write as dropped.
#include "storage/trace_writer.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/core/error.h"
#include "storage/queue_records.h"
#include "storage/trace_model.h"
#include "storage/trace_store.h"

namespace moescope::storage {

namespace {

using Clock = std::chrono::steady_clock;

// Bounds the WAL growth of one transaction when events arrive faster than the interval.
constexpr size_t kMaxTransactionBytes = size_t(32) << 20;

void add(DropCounts& a, const DropCounts& b) {
  a.tokens += b.tokens;
  a.routing += b.routing;
  a.attention += b.attention;
  a.ops += b.ops;
  a.memory += b.memory;
}

class TraceWriterImpl final : public TraceWriter {
 public:
  TraceWriterImpl(std::unique_ptr<TraceStore> store, const WriterOptions& options)
      : options_(options),
        path_(store->path()),
        queue_(options.queue_bytes),
        store_(std::move(store)),
        next_run_id_(store_->next_run_id()) {
    thread_ = std::thread([this] { run(); });
  }

  ~TraceWriterImpl() override {
    queue_.push(RecordKind::Stop, 0, 0, [](uint8_t*) {});
    thread_.join();
  }

  int64_t begin_run_impl(const RunInfo& info) {
    BeginRunRequest req{&info, {}};
    std::future<int64_t> id = req.id.get_future();
    BeginRunRequest* p = &req;
    queue_.push(RecordKind::BeginRun, 0, sizeof(p),
                [&](uint8_t* d) { std::memcpy(d, &p, sizeof(p)); });
    return id.get();
  }

  void end_run_impl(int64_t run, RunStatus status, int64_t end_ns, const std::string& error) {
    EndRunHead h{end_ns, uint32_t(error.size()), uint8_t(status)};
    queue_.push(RecordKind::EndRun, run, sizeof(h) + error.size(), [&](uint8_t* d) {
      std::memcpy(d, &h, sizeof(h));
      std::memcpy(d + sizeof(h), error.data(), error.size());
    });
  }

  void token_impl(int64_t run, const trace::TokenEvent& e) { push_token(queue_, run, e); }

  void routing_impl(int64_t run, const trace::RoutingBlock& b) {
    if (b.t <= 0 || b.n_experts <= 0 || b.top_k <= 0) return;  // nothing to record
    push_routing(queue_, run, b);
  }

  void attention_impl(int64_t run, const trace::AttentionBlock& b) {
    if (b.n_queries <= 0 || b.n_keys <= 0) return;
    push_attention(queue_, run, b);
  }

  void op_impl(int64_t run, const trace::OpEvent& e) { push_op(queue_, run, e); }
  void memory_impl(int64_t run, const trace::MemorySample& s) { push_memory(queue_, run, s); }

  void flush_impl() {
    const uint64_t ticket = ++flush_requested_;
    queue_.push(RecordKind::Flush, 0, sizeof(ticket),
                [&](uint8_t* d) { std::memcpy(d, &ticket, sizeof(ticket)); });
    std::unique_lock<std::mutex> lock(flush_mutex_);
    flushed_cv_.wait(lock, [&] { return flush_done_ >= ticket; });
  }

  WriterStats stats_impl() const {
    std::lock_guard<std::mutex> lock(state_mutex_);
    WriterStats s = stats_;
    add(s.dropped, queue_.total_drops());
    s.bytes_queued = int64_t(queue_.queued_bytes());
    s.bytes_queued_peak = int64_t(queue_.peak_bytes());
    return s;
  }

  std::string error_impl() const {
    std::lock_guard<std::mutex> lock(state_mutex_);
    if (error_.empty() && !model_error_.empty())
      return "trace " + path_ + ": the live view missed events (" + model_error_ + ")";
    return error_;
  }

  const std::string& path_impl() const { return path_; }

 private:
  void run();
  void apply(const RecordHeader& h, const uint8_t* payload, bool& commit_now, bool& stop,
             uint64_t& flush_ticket);
  void commit();
  // Runs a store operation; the first failure stops writing for good.
  template <typename F>
  void write(F&& f);
  // Feeds the live model, if any; it only fails when memory runs out, which must not stop the
  // file (the first such failure shows in error() while the file is fine).
  template <typename F>
  void feed(F&& f);
  void fail(const std::string& message);
  void count_unwritten(RecordKind kind);

  const WriterOptions options_;
  const std::string path_;
  EventQueue queue_;
  std::unique_ptr<TraceStore> store_;  // null once writing has failed
  int64_t next_run_id_;
  std::thread thread_;

  std::atomic<uint64_t> flush_requested_{0};
  std::mutex flush_mutex_;
  std::condition_variable flushed_cv_;
  uint64_t flush_done_ = 0;

  mutable std::mutex state_mutex_;
  WriterStats stats_;
  std::string error_;
  std::string model_error_;  // the live model failed to take an event (out of memory)
};

void TraceWriterImpl::run() {
  // The writer yields to the engine: on a machine with as many compute threads as cores, a
  // writer at the engine's priority preempts a worker mid-loop and every thread of that loop
  // waits for it. At a lower priority it takes the cycles the engine leaves (between steps, while
  // workers sleep); its queue absorbs the delay (and counts drops if it ever overflows).
  setpriority(PRIO_PROCESS, pid_t(syscall(SYS_gettid)), options_.writer_nice);
  std::vector<QueueChunk> batch;
  bool stop = false;
  while (!stop) {
    const auto interval = std::chrono::milliseconds(std::max(1, options_.commit_interval_ms));
    const auto deadline = store_ && store_->in_transaction()
                              ? store_->transaction_start() + interval
                              : Clock::now() + interval;
    queue_.take(batch, deadline);
    bool commit_now = false;
    uint64_t flush_ticket = 0;
    for (QueueChunk& c : batch) {
      for (size_t at = 0; at < c.used;) {
        RecordHeader h;
        std::memcpy(&h, c.data.get() + at, sizeof(h));
        apply(h, c.data.get() + at + sizeof(h), commit_now, stop, flush_ticket);
        at += record_size(h.bytes);
      }
      queue_.release(std::move(c));
      // A long batch still commits on schedule, and its transaction stays bounded.
      if (store_ && store_->in_transaction() &&
          (store_->transaction_bytes() > kMaxTransactionBytes ||
           Clock::now() >= store_->transaction_start() + interval))
        commit();
    }
    batch.clear();

    // Not a structured binding: lambdas may capture those only from clang 16 on.
    for (const auto& drop : queue_.take_drops()) {
      const int64_t run = drop.first;
      const DropCounts& d = drop.second;
      feed([&](TraceModel& m) { m.add_drops(run, d); });
      write([&] { store_->add_drops(run, d); });
    }
    if (store_ && store_->in_transaction() &&
        (commit_now || Clock::now() >= store_->transaction_start() + interval))
      commit();
    if (flush_ticket) {
      std::lock_guard<std::mutex> lock(flush_mutex_);
      flush_done_ = std::max(flush_done_, flush_ticket);
      flushed_cv_.notify_all();
    }
  }
  store_.reset();  // closes the file (WAL checkpoint) and releases the writer lock
}

void TraceWriterImpl::apply(const RecordHeader& h, const uint8_t* p, bool& commit_now, bool& stop,
                            uint64_t& flush_ticket) {
  switch (h.kind) {
    case RecordKind::Token: {
      const trace::TokenEvent e = decode_token(p);
      feed([&](TraceModel& m) { m.token(h.run, e); });
      if (store_)
        write([&] { store_->token(h.run, e); });
      else
        count_unwritten(h.kind);
      break;
    }
    case RecordKind::Routing: {
      const trace::RoutingBlock b = decode_routing(p);
      feed([&](TraceModel& m) { m.routing(h.run, b); });
      if (store_)
        write([&] { store_->routing(h.run, b); });
      else
        count_unwritten(h.kind);
      break;
    }
    case RecordKind::Attention: {
      const trace::AttentionBlock b = decode_attention(p);
      feed([&](TraceModel& m) { m.attention(h.run, b); });
      if (store_)
        write([&] { store_->attention(h.run, b); });
      else
        count_unwritten(h.kind);
      break;
    }
    case RecordKind::Op: {
      const trace::OpEvent e = decode_op(p);
      feed([&](TraceModel& m) { m.op(h.run, e); });
      if (store_)
        write([&] { store_->op(h.run, e); });
      else
        count_unwritten(h.kind);
      break;
    }
    case RecordKind::Memory: {
      const trace::MemorySample s = decode_memory(p);
      feed([&](TraceModel& m) { m.memory(h.run, s); });
      if (store_)
        write([&] { store_->memory(h.run, s); });
      else
        count_unwritten(h.kind);
      break;
    }
    case RecordKind::BeginRun: {
      BeginRunRequest* req;
      std::memcpy(&req, p, sizeof(req));
      const int64_t id = next_run_id_++;
      // The run row is committed before begin_run returns, so a reader sees the run at once.
      if (store_ && store_->in_transaction()) commit();
      write([&] {
        store_->insert_run(id, *req->info);
        std::lock_guard<std::mutex> lock(state_mutex_);
        ++stats_.commits;
      });
      feed([&](TraceModel& m) { m.begin_run_with_id(id, *req->info); });
      req->id.set_value(id);
      break;
    }
    case RecordKind::EndRun: {
      EndRunHead e;
      std::memcpy(&e, p, sizeof(e));
      const std::string error(reinterpret_cast<const char*>(p + sizeof(e)), e.error_bytes);
      feed([&](TraceModel& m) { m.end_run(h.run, RunStatus(e.status), e.end_ns, error); });
      write([&] { store_->end_run(h.run, RunStatus(e.status), e.end_ns, error); });
      commit_now = true;
      break;
    }
    case RecordKind::Flush: {
      uint64_t ticket;
      std::memcpy(&ticket, p, sizeof(ticket));
      flush_ticket = std::max(flush_ticket, ticket);
      commit_now = true;
      break;
    }
    case RecordKind::Stop:
      stop = true;
      commit_now = true;
      break;
  }
}

template <typename F>
void TraceWriterImpl::write(F&& f) {
  if (!store_) return;
  try {
    f();
  } catch (const std::exception& e) {
    fail(e.what());
  }
}

template <typename F>
void TraceWriterImpl::feed(F&& f) {
  if (!options_.model) return;
  try {
    f(*options_.model);
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(state_mutex_);
    if (model_error_.empty()) model_error_ = e.what();
  }
}

void TraceWriterImpl::commit() {
  const DropCounts events = store_->transaction_events();
  const int64_t records = store_->transaction_routing_records();
  write([&] {
    store_->commit();
    std::lock_guard<std::mutex> lock(state_mutex_);
    stats_.events_written += events.total();
    stats_.routing_records += records;
    ++stats_.commits;
  });
}

void TraceWriterImpl::fail(const std::string& message) {
  // What the failed transaction held never reached the file: count it as dropped too.
  const DropCounts lost = store_->transaction_events();
  // Error messages already name the file ("trace PATH: ..."); say what it means for the run. A
  // deleted file's message says it all: nothing of it is left to be intact.
  const std::string error =
      store_->moved() ? message
                      : message + "; the trace stopped here, what was committed before is intact";
  store_->abandon(error);  // the runs in the file say so too, if it still takes the write
  store_.reset();
  std::lock_guard<std::mutex> lock(state_mutex_);
  add(stats_.dropped, lost);
  if (error_.empty()) error_ = error;
}

void TraceWriterImpl::count_unwritten(RecordKind kind) {
  std::lock_guard<std::mutex> lock(state_mutex_);
  switch (kind) {
    case RecordKind::Token:
      ++stats_.dropped.tokens;
      break;
    case RecordKind::Routing:
      ++stats_.dropped.routing;
      break;
    case RecordKind::Attention:
      ++stats_.dropped.attention;
      break;
    case RecordKind::Op:
      ++stats_.dropped.ops;
      break;
    case RecordKind::Memory:
      ++stats_.dropped.memory;
      break;
    default:
      break;
  }
}

}  // namespace

std::unique_ptr<TraceWriter> TraceWriter::open(const std::string& path,
                                               const WriterOptions& options) {
  if (options.queue_bytes < 1024)
    moescope::fail("trace ", path, ": WriterOptions::queue_bytes ", options.queue_bytes,
                   " is too small (at least 1024)");
  return std::make_unique<TraceWriterImpl>(TraceStore::open(path, options), options);
}

TraceWriter::~TraceWriter() = default;

// The public methods forward to the one implementation (TraceWriter's constructor is protected
// and open() makes only TraceWriterImpl), keeping the header free of queue and thread types.
namespace {
TraceWriterImpl* impl(TraceWriter* w) {
  return static_cast<TraceWriterImpl*>(w);
}
const TraceWriterImpl* impl(const TraceWriter* w) {
  return static_cast<const TraceWriterImpl*>(w);
}
}  // namespace

int64_t TraceWriter::begin_run(const RunInfo& info) {
  return impl(this)->begin_run_impl(info);
}

void TraceWriter::end_run(int64_t run, RunStatus status, int64_t end_ns, const std::string& error) {
  impl(this)->end_run_impl(run, status, end_ns, error);
}

void TraceWriter::token(int64_t run, const trace::TokenEvent& e) {
  impl(this)->token_impl(run, e);
}

void TraceWriter::routing(int64_t run, const trace::RoutingBlock& b) {
  impl(this)->routing_impl(run, b);
}

void TraceWriter::attention(int64_t run, const trace::AttentionBlock& b) {
  impl(this)->attention_impl(run, b);
}

void TraceWriter::op(int64_t run, const trace::OpEvent& e) {
  impl(this)->op_impl(run, e);
}

void TraceWriter::memory(int64_t run, const trace::MemorySample& s) {
  impl(this)->memory_impl(run, s);
}

void TraceWriter::flush() {
  impl(this)->flush_impl();
}

WriterStats TraceWriter::stats() const {
  return impl(this)->stats_impl();
}

std::string TraceWriter::error() const {
  return impl(this)->error_impl();
}

const std::string& TraceWriter::path() const {
  return impl(this)->path_impl();
}

}  // namespace moescope::storage
