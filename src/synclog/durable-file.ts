/**
 * Small state files that must survive a crash whole: written to a temp file,
 * fdatasync'd, renamed over the target, then the directory fsync'd. A reader
 * therefore sees either the old content or the new one, never a torn mix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fsyncDir } from '../native/index.js';
import { tempPathFor } from './channel.js';

export function writeFileDurable(file: string, content: string): void {
  const temp = tempPathFor(file);
  const fd = fs.openSync(temp, 'w', 0o640);
  try {
    fs.writeSync(fd, content);
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
  fsyncDir(path.dirname(file));
}

/** The file's text, or null if it does not exist. */
export function readFileIfExists(file: string): string | null {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Unlinks; true if something was removed. */
export function unlinkIfExists(file: string): boolean {
  try {
    fs.unlinkSync(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
