// attention kernels of the tfjs cuda backend (see src/kernels/attention.ts).
#include "common.cuh"
