// movement kernels of the tfjs cuda backend (see src/kernels/movement.ts).
#include "common.cuh"
