/**
 * movement.cu's scalar arithmetic replayed in TypeScript, shared by the movement tests' replays (plan and
 * emulated device). A test helper, not a test file.
 */

/** to_int32 in movement.cu (its double arithmetic is JavaScript's): truncate, wrapping like JavaScript, not saturating. */
export function deviceToInt32(x: number): number {
  if (x > -2147483649 && x < 2147483648) return Math.trunc(x) | 0;
  if (!Number.isFinite(x)) return 0;
  let m = Math.trunc(x) % 4294967296;
  if (m < 0) m += 4294967296;
  return m | 0;
}

/** range_serial_*: one thread repeats tfjs cpu's loop (v += step, rounded to the output dtype each time). */
export function rangeSerial(start: number, step: number, size: number, isFloat: boolean): number[] {
  const out: number[] = [];
  let v = isFloat ? Math.fround(start) : deviceToInt32(start);
  for (let i = 0; i < size; i++) {
    if (i > 0) v = isFloat ? Math.fround(v + step) : deviceToInt32(v + step);
    out.push(v);
  }
  return out;
}
