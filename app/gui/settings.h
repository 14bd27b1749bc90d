// Where the workbench keeps things (XDG Base Directory spec), and the settings it persists
// between sessions beside ImGui's own imgui.ini (window places and sizes):
//   config: $XDG_CONFIG_HOME/moescope or ~/.config/moescope   (settings.json, imgui.ini)
//   data:   $XDG_DATA_HOME/moescope or ~/.local/share/moescope (workbench.db, the default trace)
#pragma once

#include <map>
#include <string>

#include "inspectors/panels/commands.h"

namespace moescope::gui {

std::string config_dir();  // "" when neither XDG_CONFIG_HOME nor HOME is set
std::string data_dir();

struct PanelFlags {
  bool open = true;
  bool detached = false;
};

struct Settings {
  float font_scale = 1.0f;
  std::string active_tab;  // panel id
  std::map<std::string, PanelFlags> panels;
  panels::GenerationSettings generation;
  std::string prompt;
};

// Defaults when the file is missing or unreadable (a broken settings file must not stop the
// workbench; the problem is reported in *warning).
Settings load_settings(const std::string& path, std::string* warning);
bool save_settings(const std::string& path, const Settings& s);

}  // namespace moescope::gui
