// matmul kernels of the tfjs cuda backend (see src/kernels/matmul.ts).
#include "common.cuh"
