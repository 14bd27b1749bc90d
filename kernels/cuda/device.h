// CUDA device discovery. Any CUDA runtime error (no driver, no device, error 35 on a machine
// without a GPU) means "no device": these functions never throw and never abort.
#pragma once

#include <string>

namespace moescope::kernels::cuda {

// Number of usable CUDA devices; 0 on any error.
int device_count();

// "NVIDIA H100 80GB HBM3 (sm_90, 79.1 GiB)" for device index, or the runtime's error string.
std::string device_description(int index);

}  // namespace moescope::kernels::cuda
