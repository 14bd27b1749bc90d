// Panel 6, model and capture: the model's configuration, parameter counts, memory, devices and
// parallel layout (the loaded model's, or, when browsing, what the shown run recorded); and what
// the next run captures (routing, ops, attention layers / heads / steps and byte budget).
#pragma once

#include <string>

#include "inspectors/panels/panel.h"

namespace moescope::panels {

class ModelView : public Panel {
 public:
  ModelView();

 protected:
  void draw_content(PanelContext& ctx) override;

 private:
  void draw_model(PanelContext& ctx);
  void draw_run_record(PanelContext& ctx);
  void draw_capture(PanelContext& ctx);

  std::string layers_text_, heads_text_;
  bool texts_initialised_ = false;
  bool layers_ok_ = true, heads_ok_ = true;
};

}  // namespace moescope::panels
