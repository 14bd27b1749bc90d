// The attention kernels (attention_kernels.h) built for the avx512 variant (flags and namespace
// from kernels/CMakeLists.txt).
#include "kernels/cpu/attention_kernels.h"
