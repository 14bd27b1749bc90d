// moescope: entry point. Dispatches to the CLI subcommands (app/cli/).
#include "app/cli/commands.h"

int main(int argc, char** argv) {
  return moescope::app::run_cli(argc, argv);
}
