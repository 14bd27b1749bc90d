#include "app/cli/commands.h"

#include <cstdio>

namespace moescope::app {

int run_cli(int argc, char** argv) {
  std::fprintf(stderr, "moescope: no commands yet\n");
  return 2;
}

}  // namespace moescope::app
