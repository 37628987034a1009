/** Process entry of the sigattn CLI (see cli.ts); run with `tsx packages/training-runner/src/main.ts`. */
import { main } from './cli.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
