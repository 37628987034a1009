/**
 * Errors a user can fix. Their message is one line that names the key or file, what was expected
 * and how to fix it; CLIs print it without a stack trace and exit with `exitCode` (2). Anything else
 * thrown is a bug and keeps its stack trace.
 */
export class UserError extends Error {
  override name = 'UserError';
  readonly exitCode: number = 2;
}

/** A config key or command-line option has a bad value. */
export class ConfigError extends UserError {
  override name = 'ConfigError';
}

/** An input file is missing, truncated or corrupt. */
export class DataError extends UserError {
  override name = 'DataError';
}

/** Training cannot go on (divergence, a checkpoint of another run); the last good checkpoint is intact. */
export class RunError extends UserError {
  override name = 'RunError';
}

// The project's lib settings (ES2023, no DOM) do not declare the WebAssembly global that Node has.
const WasmRuntimeError = (globalThis as unknown as { WebAssembly: { RuntimeError: ErrorConstructor } }).WebAssembly.RuntimeError;

/**
 * tfjs-backend-wasm is 32-bit WebAssembly: its heap stops at 4 GiB, and a step whose tensors need more
 * dies inside wasm with a bare `RuntimeError: Aborted()` (or `memory access out of bounds`). Returns a
 * RunError that says so, ending with `fix` (what the user can change, e.g. the batch-size key); any
 * other error comes back unchanged. Catch around work on the wasm backend: `throw explainWasmAbort(err, …)`.
 */
export function explainWasmAbort(err: unknown, fix: string): unknown {
  if (!(err instanceof WasmRuntimeError)) return err;
  return new RunError(`the wasm backend aborted (${err.message}), almost always because it ran out of memory: tfjs-backend-wasm's heap stops at 4 GiB; ${fix}`, { cause: err });
}

/** True for errors meant for the user (any UserError, or one that declares a numeric exitCode). */
export function isUserError(err: unknown): err is Error & { exitCode?: number } {
  return err instanceof UserError || (err instanceof Error && typeof (err as { exitCode?: unknown }).exitCode === 'number');
}

/** Print a user error as one line (`error: …`) and return its exit code; rethrow anything else. */
export function reportUserError(err: unknown, write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): number {
  if (!isUserError(err)) throw err;
  write(`error: ${err.message}`);
  return err.exitCode ?? 2;
}

/**
 * Run a CLI's async main and exit: user errors print one line and exit 2; anything else prints its
 * stack and exits 1.
 */
export function runMain(main: () => Promise<number | void>): void {
  main().then(
    (code) => process.exit(code ?? 0),
    (err: unknown) => {
      if (isUserError(err)) process.exit(reportUserError(err));
      console.error(err);
      process.exit(1);
    },
  );
}

/** The closest candidate by edit distance (≤ 2 edits, case-insensitive), for did-you-mean hints. */
export function closestName(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

/** Levenshtein distance over any sequences (strings compare characters, arrays compare items). */
export function editDistance<T>(a: ArrayLike<T>, b: ArrayLike<T>): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}
