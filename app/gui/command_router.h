// The panels' CommandSink: routes each command to the engine worker, the trace browser or the
// shared selection. Every command is handled without blocking the UI thread.
#pragma once

#include <memory>
#include <string>

#include "app/gui/engine_worker.h"
#include "app/gui/trace_browser.h"
#include "inspectors/panels/commands.h"
#include "inspectors/panels/panel.h"

namespace moescope::gui {

class CommandRouter : public panels::CommandSink {
 public:
  // worker is null when browsing a file without a model; live is the model the worker records
  // into (shown when the recording file is opened).
  CommandRouter(EngineWorker* worker, TraceBrowser* browser, panels::Selection* selection,
                std::shared_ptr<storage::TraceModel> live)
      : worker_(worker), browser_(browser), selection_(selection), live_(std::move(live)) {}

  void post(panels::Command command) override;
  // The file this session records to ("" when none); opening it shows the live model.
  void set_recording_path(const std::string& path) { recording_path_ = path; }
  int64_t generations_posted() const { return generations_; }

 private:
  EngineWorker* worker_;
  TraceBrowser* browser_;
  panels::Selection* selection_;
  std::shared_ptr<storage::TraceModel> live_;
  std::string recording_path_;
  int64_t generations_ = 0;
};

}  // namespace moescope::gui
