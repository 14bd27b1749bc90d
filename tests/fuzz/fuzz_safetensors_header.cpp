// libFuzzer target: feed_safetensors (fuzz_inputs.h). A moescope::Error is the expected end of bad
// input; any other exception escapes and aborts, which libFuzzer reports as a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/core/error.h"
#include "tests/fuzz/fuzz_inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    moescope::fuzz::feed_safetensors({reinterpret_cast<const char*>(data), size});
  } catch (const moescope::Error&) {
  }
  return 0;
}
