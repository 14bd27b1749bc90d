#include "inspectors/panels/workbench_status.h"

namespace moescope::panels {

const char* engine_state_name(EngineState s) {
  switch (s) {
    case EngineState::None:
      return "no model";
    case EngineState::Loading:
      return "loading model";
    case EngineState::Ready:
      return "ready";
    case EngineState::Generating:
      return "generating";
    case EngineState::Failed:
      return "failed";
  }
  return "?";
}

}  // namespace moescope::panels
