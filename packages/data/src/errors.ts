/** An input file is missing, truncated or corrupt. The message names the file, what was expected and how to fix it. */
export class DataError extends Error {
  override name = 'DataError';
}
