/** Process entry of the sigattn CLI (see cli.ts); run with `tsx packages/training-runner/src/main.ts`. */
import { runMain } from '@sigattn/common';
import { main } from './cli.js';
import { setCliEntry } from './experiment.js';

// --jobs children start the same way this process did (tsx, or the offline bundle's node).
setCliEntry([...process.execArgv, process.argv[1]]);
runMain(() => main(process.argv.slice(2)));
