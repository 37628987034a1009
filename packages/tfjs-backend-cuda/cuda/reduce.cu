// reduce kernels of the tfjs cuda backend (see src/kernels/reduce.ts).
#include "common.cuh"
