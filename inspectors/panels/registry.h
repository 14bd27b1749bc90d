// Every panel of the workbench, created in one place, one line each (style-anchors.md lesson 9):
// the order here is the order of the tabs and of the View menu.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "inspectors/panels/panel.h"

namespace moescope::panels {

class PromptConsole;

struct PanelSet {
  std::vector<std::unique_ptr<Panel>> all;
  PromptConsole* console = nullptr;  // also in all

  Panel* find(const std::string& id) const;
  // Whether any panel still computes something in the background (scripted screenshots wait).
  bool busy() const;
};

PanelSet make_panels();

}  // namespace moescope::panels
