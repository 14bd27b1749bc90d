#include "app/gui/command_router.h"

#include <filesystem>
#include <type_traits>

namespace moescope::gui {

namespace {

bool same_file(const std::string& a, const std::string& b) {
  if (a.empty() || b.empty()) return false;
  std::error_code ec;
  return std::filesystem::equivalent(a, b, ec) || a == b;
}

}  // namespace

void CommandRouter::post(panels::Command command) {
  std::visit(
      [this](auto&& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, panels::cmd::Generate>) {
          if (!worker_) return;
          // The new run is shown as soon as it starts (the app follows the live run's id).
          selection_->follow_live = true;
          ++generations_;
          worker_->generate(c);
        } else if constexpr (std::is_same_v<T, panels::cmd::Stop>) {
          if (worker_) worker_->stop();
        } else if constexpr (std::is_same_v<T, panels::cmd::Clear>) {
          selection_->run = -1;
          selection_->compare = -1;
          selection_->position = -1;
        } else if constexpr (std::is_same_v<T, panels::cmd::OpenTrace>) {
          const bool recording = same_file(c.path, recording_path_);
          browser_->open(c.path, recording ? live_ : std::make_shared<storage::TraceModel>(),
                         recording);
          selection_->run = -1;
          selection_->compare = -1;
          selection_->follow_live = recording;
        } else if constexpr (std::is_same_v<T, panels::cmd::SelectRun>) {
          if (c.run >= 0) browser_->load(c.run);
          if (c.compare) {
            selection_->compare = c.run;
          } else {
            selection_->run = c.run;
            selection_->follow_live = false;
            selection_->position = -1;
          }
        } else if constexpr (std::is_same_v<T, panels::cmd::ReloadRuns>) {
          browser_->reload();
        }
      },
      command);
}

}  // namespace moescope::gui
