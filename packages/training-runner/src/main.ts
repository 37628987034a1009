/** Process entry of the sigattn CLI (see cli.ts); run with `tsx packages/training-runner/src/main.ts`. */
import { runMain } from '@sigattn/common';
import { main } from './cli.js';

runMain(() => main(process.argv.slice(2)));
