// The engine's thread in the workbench: loads the model, opens the trace file, and runs one
// traced generation at a time (engine::traced_generate) while the UI keeps drawing. Events go
// through the TraceWriter, whose thread feeds the shared TraceModel that the panels read; the UI
// talks to this class only through a queue (generate), an atomic flag (stop) and a status copy.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "inspectors/panels/commands.h"
#include "inspectors/panels/workbench_status.h"
#include "storage/trace_model.h"

namespace moescope::gui {

struct WorkerOptions {
  std::string model_dir;
  std::string trace_path;  // "" = record into the TraceModel only
  int threads = 0;         // 0 = all cores
};

class EngineWorker {
 public:
  EngineWorker(WorkerOptions options, std::shared_ptr<storage::TraceModel> model);
  ~EngineWorker();  // stops a running generation, drains the trace, joins
  EngineWorker(const EngineWorker&) = delete;
  EngineWorker& operator=(const EngineWorker&) = delete;

  // Queues a run; ignored (with a status message) while one is going or the model is missing.
  void generate(const panels::cmd::Generate& request);
  // Ends the running generation after the current step (the run is kept, as complete).
  void stop();
  panels::EngineStatus status() const;
  // The trace file actually written ("" when none could be opened).
  std::string trace_path() const;
  // The tokenizer's text for an id ("" before the model is loaded). Safe from any thread.
  std::string token_text(int32_t id) const;
  // Blocks until the trace writer has handed every event so far to the TraceModel.
  void flush();

 private:
  struct State;
  void run();
  void set_message(const std::string& m);

  WorkerOptions options_;
  std::shared_ptr<storage::TraceModel> model_;
  std::unique_ptr<State> state_;  // engine objects, touched by the worker thread only
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<panels::cmd::Generate> queue_;
  bool quit_ = false;
  bool busy_ = false;  // a generation is queued or running
  panels::EngineStatus status_;
  std::string trace_path_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> tokenizer_ready_{false};
  std::thread thread_;
};

}  // namespace moescope::gui
