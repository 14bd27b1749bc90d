#include "app/gui/trace_browser.h"

#include <filesystem>

#include "storage/trace_file.h"

namespace moescope::gui {

TraceBrowser::TraceBrowser() : thread_([this] { loop(); }) {}

TraceBrowser::~TraceBrowser() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    quit_ = true;
    tasks_.clear();
  }
  cv_.notify_all();
  thread_.join();
}

void TraceBrowser::post(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(mutex_);
  tasks_.push_back(std::move(task));
  status_.busy = true;
  cv_.notify_all();
}

void TraceBrowser::loop() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return quit_ || !tasks_.empty(); });
      if (quit_) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
      running_task_ = true;
    }
    task();
    std::lock_guard<std::mutex> lock(mutex_);
    running_task_ = false;
    status_.busy = !tasks_.empty();
    idle_cv_.notify_all();
  }
}

void TraceBrowser::wait_idle() {
  std::unique_lock<std::mutex> lock(mutex_);
  idle_cv_.wait(lock, [this] { return tasks_.empty() && !running_task_; });
}

void TraceBrowser::open(const std::string& path, std::shared_ptr<storage::TraceModel> model,
                        bool recording) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    status_ = {};
    status_.path = path;
    status_.recording = recording;
    model_ = std::move(model);
  }
  post([this] { list_runs(); });
}

void TraceBrowser::reload() {
  post([this] { list_runs(); });
}

void TraceBrowser::list_runs() {
  std::string path;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    path = status_.path;
  }
  std::vector<storage::RunSummary> runs;
  std::string error;
  if (!path.empty() && std::filesystem::exists(path)) {
    try {
      runs = storage::TraceFile::open(path)->runs();
    } catch (const std::exception& e) {
      error = e.what();
    }
  } else if (!path.empty()) {
    error = "no such file: " + path;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (path != status_.path) return;  // another file was opened meanwhile
  status_.runs = std::move(runs);
  status_.error = error;
}

void TraceBrowser::load(int64_t run) {
  post([this, run] {
    std::string path;
    std::shared_ptr<storage::TraceModel> model;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      path = status_.path;
      model = model_;
    }
    if (!model || model->read(run, [](const storage::RunData&) {})) return;
    try {
      model->put(storage::TraceFile::open(path)->load(run));
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(mutex_);
      status_.error = e.what();
    }
  });
}

panels::SourceStatus TraceBrowser::status() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return status_;
}

std::shared_ptr<storage::TraceModel> TraceBrowser::model() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return model_;
}

}  // namespace moescope::gui
