/** Child process for one speech shard (see shard.ts): receives a ShardSpec, reports progress, returns the result, exits. */
import { runShard, type ShardSpec } from './shard.js';

process.once('message', (spec: ShardSpec) => {
  try {
    const result = runShard(spec, () => process.send!({ type: 'progress' }));
    process.send!({ type: 'done', result }, () => process.exit(0));
  } catch (err) {
    const e = err as Error;
    process.send!({ type: 'error', name: e.name, message: e.message }, () => process.exit(1));
  }
});
