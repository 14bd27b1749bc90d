// The attention kernels (attention_kernels.h) built for the portable variant (flags and namespace
// from kernels/CMakeLists.txt).
#include "kernels/cpu/attention_kernels.h"
