// optimizer kernels of the tfjs cuda backend (see src/kernels/optimizer.ts).
#include "common.cuh"
