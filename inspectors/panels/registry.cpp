#include "inspectors/panels/registry.h"

#include "inspectors/panels/attention_view.h"
#include "inspectors/panels/expert_load.h"
#include "inspectors/panels/kernels_view.h"
#include "inspectors/panels/model_view.h"
#include "inspectors/panels/prompt_console.h"
#include "inspectors/panels/runs_view.h"

namespace moescope::panels {

Panel* PanelSet::find(const std::string& id) const {
  for (const auto& p : all)
    if (p->id() == id) return p.get();
  return nullptr;
}

bool PanelSet::busy() const {
  for (const auto& p : all)
    if (p->busy()) return true;
  return false;
}

PanelSet make_panels() {
  PanelSet s;
  auto console = std::make_unique<PromptConsole>();
  s.console = console.get();
  s.all.push_back(std::move(console));
  s.all.push_back(std::make_unique<ExpertLoad>());
  s.all.push_back(std::make_unique<AttentionView>());
  s.all.push_back(std::make_unique<KernelsView>());
  s.all.push_back(std::make_unique<RunsView>());
  s.all.push_back(std::make_unique<ModelView>());
  return s;
}

}  // namespace moescope::panels
