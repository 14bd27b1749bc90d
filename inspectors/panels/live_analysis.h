// An analysis of the selected run that follows it while it grows, shared by the expert-load,
// attention and kernels panels: computed on a background thread (AsyncValue) when the panel's
// inputs change, or when the run has a newer version and the throttle interval has passed. While
// a job runs, or a newer version is held back by the throttle, the analysis counts as busy, so a
// scripted screenshot waits for the data that matches the run.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "inspectors/panels/async_value.h"
#include "inspectors/panels/panel.h"

namespace moescope::panels {

template <class T>
class LiveAnalysis {
 public:
  // Whether a job should start now for run `run` with these inputs (the panel's options as a
  // string), at most every interval_s while the run changes; false when the run does not exist.
  bool due(const PanelContext& ctx, int64_t run, const std::string& inputs, double interval_s) {
    uint64_t version = 0;
    if (!read_run(ctx, run, [&](const storage::RunData& r) { version = r.version; })) return false;
    if (inputs != inputs_) {
      throttle_.reset();
      pending_ = true;
    }
    if (throttle_.due(run, version, ctx.time_s, interval_s)) pending_ = true;
    return pending_;
  }
  // Starts job (computed with inputs) unless one is still running; then due() stays true and the
  // panel tries again next frame.
  void start(std::function<T()> job, const std::string& inputs) {
    if (data_.start(std::move(job))) {
      pending_ = false;
      inputs_ = inputs;
    }
  }
  bool busy() { return data_.running() || pending_ || throttle_.behind; }

  // The result to draw for run `run`, or null after drawing why there is none: the job's error,
  // "Computing...", or the no-run state.
  std::shared_ptr<const T> shown(const PanelContext& ctx, int64_t run) {
    auto d = data_.get();
    if (d && d->run == run) return d;
    if (!data_.error().empty())
      no_data("Cannot show this run", data_.error().c_str());
    else if (run >= 0 && data_.running())
      no_data("Computing...", "");
    else
      no_run(ctx);
    return nullptr;
  }

 private:
  AsyncValue<T> data_;
  Throttle throttle_;
  std::string inputs_;    // the inputs the current data was computed with
  bool pending_ = false;  // inputs or the run changed: a job is wanted
};

}  // namespace moescope::panels
