// The matmul kernels (matmul_kernels.h) built for the avx512 variant (flags and namespace from
// kernels/CMakeLists.txt).
#include "kernels/cpu/matmul_kernels.h"
