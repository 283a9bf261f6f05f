/**
 * The one family of errors for a damaged or unreadable file of the master's
 * store: every format reader's error (cyrus.header, cyrus.index, seen, subs,
 * quota, annotations, mailboxes.db entries, cyrusdb images) extends
 * CyrusFileError and names the file it came from when it is known. At each
 * reader's boundary `asFileError` keeps a typed error (adding the path) and
 * turns anything else a decoder let escape (a RangeError from a Buffer read
 * past a corrupt length, a TypeError) into that reader's typed error, the
 * original as `cause`, so one bad file fails one user, never the process.
 * Each format's subclass has its own code (SYNCMUX_CYRUS_INDEX, …).
 */
import { SyncmuxError } from '../errors.js';

export class CyrusFileError extends SyncmuxError {
  path: string;

  constructor(message: string, path = '', options?: ErrorOptions) {
    super('SYNCMUX_CYRUS_FILE', path ? `${path}: ${message}` : message, options);
    this.path = path;
  }

  /** Names the file, once (an error thrown by a pure decoder learns it at the boundary). */
  atPath(path: string): this {
    if (!this.path && path) {
      this.path = path;
      this.message = `${path}: ${this.message}`;
    }
    return this;
  }
}

/** The typed error for `e` thrown while decoding `path`, made by `wrap` when `e` is not one already. */
export function asFileError(e: unknown, path: string, wrap: (message: string, cause: unknown) => CyrusFileError): CyrusFileError {
  if (e instanceof CyrusFileError) return e.atPath(path);
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return wrap(`unreadable (${what})`, e).atPath(path);
}

/** fn, with any error it throws made typed and path-named by asFileError. */
export function decodingFile<T>(path: string, wrap: (message: string, cause: unknown) => CyrusFileError, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw asFileError(e, path, wrap);
  }
}

/** fn, with a typed file error it throws named after `path`; other errors pass unchanged (they are not about the file). */
export function namingFile<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CyrusFileError) e.atPath(path);
    throw e;
  }
}

/** An iterator whose failures decodingFile treats as fn's would be. */
export function* decodingEach<T>(path: string, wrap: (message: string, cause: unknown) => CyrusFileError, it: Iterator<T>): IterableIterator<T> {
  for (;;) {
    const next = decodingFile(path, wrap, () => it.next());
    if (next.done) return;
    yield next.value;
  }
}
