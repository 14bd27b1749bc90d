// Reading trace files for the Runs panel, off the UI thread: list a file's runs, and load a
// stored run into a TraceModel so that every panel shows it exactly as it shows a live run.
// One background thread runs the requests in order.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "inspectors/panels/workbench_status.h"
#include "storage/trace_model.h"

namespace moescope::gui {

class TraceBrowser {
 public:
  TraceBrowser();
  ~TraceBrowser();
  TraceBrowser(const TraceBrowser&) = delete;
  TraceBrowser& operator=(const TraceBrowser&) = delete;

  // Shows path, loading its runs into model (the live model when it is the file this session
  // records, so the live run and the stored ones share one id space), and lists its runs.
  void open(const std::string& path, std::shared_ptr<storage::TraceModel> model, bool recording);
  void reload();
  // Loads run into the model unless it is there already.
  void load(int64_t run);
  panels::SourceStatus status() const;
  std::shared_ptr<storage::TraceModel> model() const;
  // Blocks until every request so far is done (the scripted mode and tests).
  void wait_idle();

 private:
  void post(std::function<void()> task);
  void list_runs();
  void loop();

  mutable std::mutex mutex_;
  std::condition_variable cv_, idle_cv_;
  std::deque<std::function<void()>> tasks_;
  bool quit_ = false;
  bool running_task_ = false;
  panels::SourceStatus status_;
  std::shared_ptr<storage::TraceModel> model_;
  std::thread thread_;
};

}  // namespace moescope::gui
