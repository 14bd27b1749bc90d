// A value computed on a background thread, so an analysis over a long run (op statistics of
// 100k+ ops, attention thumbnails) never stalls a frame. The UI thread starts a job when its
// inputs changed and keeps drawing the previous result until the new one is ready.
// Jobs read the TraceModel themselves, under its shared lock (they must hold a shared_ptr to it).
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>

namespace moescope::panels {

template <class T>
class AsyncValue {
 public:
  AsyncValue() = default;
  AsyncValue(const AsyncValue&) = delete;
  AsyncValue& operator=(const AsyncValue&) = delete;
  ~AsyncValue() {
    if (future_.valid()) future_.wait();
  }

  // Starts job unless one is running; false when one was (call again later).
  bool start(std::function<T()> job) {
    poll();
    if (future_.valid()) return false;
    future_ = std::async(std::launch::async, [job = std::move(job)] {
      Result r;
      try {
        r.value = std::make_shared<const T>(job());
      } catch (const std::exception& e) {
        r.error = e.what();  // e.g. a corrupt trace: shown by the panel, never a crash
      }
      return r;
    });
    return true;
  }
  bool running() {
    poll();
    return future_.valid();
  }
  // The latest finished result (null before the first).
  std::shared_ptr<const T> get() {
    poll();
    return value_;
  }
  // Why the last job failed, or "".
  const std::string& error() {
    poll();
    return error_;
  }
  // Forgets the result (e.g. another run was selected); a running job's result is dropped.
  void clear() {
    value_.reset();
    discard_ = future_.valid();
  }
  // Blocks until the running job (if any) is done (tests and the scripted mode).
  void wait() {
    if (future_.valid()) future_.wait();
    poll();
  }

 private:
  void poll() {
    if (future_.valid() && future_.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
      Result r = future_.get();
      if (!discard_) {
        error_ = r.error;
        if (r.value) value_ = std::move(r.value);
      }
      discard_ = false;
    }
  }

  struct Result {
    std::shared_ptr<const T> value;
    std::string error;
  };
  std::future<Result> future_;
  std::shared_ptr<const T> value_;
  std::string error_;
  bool discard_ = false;
};

}  // namespace moescope::panels
