/** Test harnesses of the cuda backend (`@sigattn/tfjs-backend-cuda/testing`). */
export { runOpCases, type OpCase, type OpResult, type InputSpec } from './op-check.js';
export { OP_CASES } from './cases/index.js';
export { runZooCheck, FLASH_VARIANTS, type ZooCheckRow } from './zoo-check.js';
export { nullDriver, type NullDriverCounts } from './null-driver.js';
