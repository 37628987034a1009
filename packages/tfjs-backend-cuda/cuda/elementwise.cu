// elementwise kernels of the tfjs cuda backend (see src/kernels/elementwise.ts).
#include "common.cuh"
