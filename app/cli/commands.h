// The moescope command line: `moescope <command> [options]`.
#pragma once

namespace moescope::app {

// Parses argv, runs the command, and returns the process exit code. Errors at input boundaries
// are printed as one line "moescope: error: ..." with exit code 1; usage errors exit with 2.
int run_cli(int argc, char** argv);

}  // namespace moescope::app
