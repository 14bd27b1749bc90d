#include "kernels/cpu/scratch.h"

#include <vector>

namespace moescope::kernels {

float* thread_scratch(ScratchSlot slot, size_t n) {
  thread_local std::vector<float> buffers[size_t(ScratchSlot::Count)];
  std::vector<float>& b = buffers[size_t(slot)];
  if (b.size() < n) b.resize(n);
  return b.data();
}

}  // namespace moescope::kernels
