// The subcommands of the moescope CLI, one file each (app/cli/cmd_*.cpp).
#pragma once

#include <string>

#include "app/cli/args.h"

namespace moescope::app {

struct Command {
  const char* name;
  const char* summary;
  const char* usage;  // options, one per line
  int (*run)(Args& args);
};

int cmd_info(Args& args);
int cmd_tokenize(Args& args);
int cmd_generate(Args& args);
int cmd_eval(Args& args);
int cmd_bench(Args& args);
int cmd_convert(Args& args);
int cmd_probe(Args& args);
int cmd_run(Args& args);
int cmd_runs(Args& args);
int cmd_report(Args& args);
int cmd_export(Args& args);
int cmd_gui(Args& args);
// Whether `moescope` alone should open the workbench: built with it, and a display is there.
bool gui_can_open();

// The table of all commands, terminated by an entry with a null name.
const Command* commands();

// The model directory used when --model is not given: the embedded default in assets/.
std::string default_model_dir();

}  // namespace moescope::app
