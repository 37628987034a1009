// Shared by the cuda backend's kernels: every kernel takes ONE struct by value whose fields match the
// TypeScript KernelParams writer (src/params.ts) field for field, at natural alignment.
#pragma once
#include <cstdint>

#define SIGATTN_MAX_RANK 6

// Grid-stride loop over [0, n): the host caps the grid, so any n fits.
#define GRID_STRIDE(i, n) \
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)
