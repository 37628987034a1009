/**
 * `@sigattn/tfjs-backend-cuda`: the future tfjs `cuda` backend. Not implemented: today the package holds
 * only the inventory of kernels the backend must provide (kernels.json, README.md); no backend is
 * registered.
 */
export { recordKernelInventory, type KernelInventory, type KernelUse } from './inventory.js';
