// The matmul kernels (matmul_kernels.h) built for the portable variant (flags and namespace from
// kernels/CMakeLists.txt).
#include "kernels/cpu/matmul_kernels.h"
