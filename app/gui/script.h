// The workbench's scripted mode (`moescope gui --script FILE --screenshot-dir DIR`): a small
// line-based language for tests and documentation. One command per line, '#' starts a comment:
//
//   size W H                  resize the window
//   scale S                   font scale (1 = 15 px DejaVu Sans)
//   prompt TEXT               the console's prompt (rest of the line; \n and \t are escapes)
//   set PANEL.KEY VALUE       a panel setting, e.g. set console.max_tokens 48,
//                             set expert_load.metric share, set attention.head 3
//   generate | stop | clear   as the console's buttons
//   wait done [SECONDS]       until the engine is idle and the run fully recorded (default 300)
//   wait tokens N [SECONDS]   until the live run has generated N tokens (fails when it ends
//                             with fewer)
//   wait model [SECONDS]      until the model is loaded
//   wait frames N | wait seconds S
//   open PANEL                show a panel (select its tab, or raise its window)
//   detach PANEL | attach PANEL
//   select layer N | select head N | select run N|latest | select compare N|none
//   open_trace FILE           browse another trace file
//   mouse X Y | mouse_at RECT FX FY | mouse off
//                             put the mouse at window pixels, or at fractions of a named plot
//                             (a plot drawn in the last frame); off (the default) = nowhere
//   screenshot FILE.png [PANEL]  the window (or one panel) as PNG, plus FILE.json with the
//                             rectangles of the plots in it; waits for background work first
//   dump FILE.json            the console's tokens and the shown run's contents, as JSON
//   measure LABEL             frame times from here on are reported under LABEL
//   quit                      exit (also at the end of the script)
// Relative file names are taken in the screenshot directory.
#pragma once

#include <string>
#include <vector>

namespace moescope::gui {

struct ScriptStep {
  int line = 0;
  std::string command;
  std::vector<std::string> args;  // split on whitespace
  std::string rest;               // the text after the command (prompt)
};

// Throws moescope::Error "NAME:LINE: ..." on an unknown command or a wrong number of arguments.
std::vector<ScriptStep> parse_script(const std::string& text, const std::string& name);

}  // namespace moescope::gui
