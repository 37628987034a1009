/** Reading the files a loader needs, with errors that name the file and how to make it. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { DataError } from '@sigattn/common';

/** Read a file, or throw a DataError naming it and how to make it. */
export function readFileOrThrow(path: string, hint: string): Buffer {
  if (!existsSync(path)) throw new DataError(`${path}: file not found; ${hint}`);
  if (!statSync(path).isFile()) throw new DataError(`${path}: expected a file, found a directory or special file; ${hint}`);
  return readFileSync(path);
}

/** Parse a JSON file, or throw a DataError naming it. */
export function readJsonFile<T>(path: string, hint: string): T {
  const text = readFileOrThrow(path, hint).toString('utf8');
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new DataError(`${path}: expected valid JSON, found a parse error (${(err as Error).message}); ${hint}`);
  }
}
