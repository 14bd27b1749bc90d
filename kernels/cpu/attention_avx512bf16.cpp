// The attention kernels (attention_kernels.h) built for the avx512bf16 variant (flags and
// namespace from kernels/CMakeLists.txt): prefill's products in bf16 pairs (the Bf16 and Int8
// activations modes, precision.h).
#include "kernels/cpu/attention_kernels.h"
