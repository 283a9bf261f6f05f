/**
 * Writes printed chunks to a Writable with backpressure, copying file
 * literal bodies from disk (or any async source) in bounded pieces, so a
 * 50 MB message passes through without being held in memory.
 *
 * The header `%{p g n}` is already in the text when a body is copied, so a
 * body that is not exactly n bytes would desynchronise the peer. Cyrus'
 * printfile checks size (and GUID) before printing; here every `path` body
 * is stat()ed before the first byte is written, and a stream body that
 * comes up short or long rejects (the caller must then drop the connection).
 */
import { once } from 'node:events';
import fs from 'node:fs';
import type { Writable } from 'node:stream';
import { asBuffer } from './binary.js';
import { DlistError } from './errors.js';
import { isBodyRef, type BodyRef, type OutChunk } from './print.js';

export interface WriteOptions {
  /** Read size for file bodies. Default 64 KiB. */
  readSize?: number;
}

/** Bodies up to this size are read whole, synchronously: one syscall burst instead of a stream. */
const SMALL_BODY = 64 * 1024;
/** …as long as one command's pre-read bodies stay under this, so memory stays bounded. */
const PREREAD_BUDGET = 8 * 1024 * 1024;

/** Writes all chunks; resolves to the byte count once the last write is accepted. */
export async function writeChunks(out: Writable, chunks: readonly OutChunk[], opts: WriteOptions = {}): Promise<number> {
  const readSize = opts.readSize ?? 64 * 1024;
  // Every body is checked before the first byte is written: a command must never go out half-built.
  const preread = new Map<BodyRef, Buffer>();
  let budget = PREREAD_BUDGET;
  for (const c of chunks) {
    if (!isBodyRef(c) || c.source.type !== 'path') continue;
    if (c.size <= SMALL_BODY && c.size <= budget) {
      const body = fs.readFileSync(c.source.path);
      if (body.length !== c.size) throw sizeError(c, `${c.source.path} is ${body.length} bytes, header says ${c.size}`);
      preread.set(c, body);
      budget -= c.size;
    } else {
      await checkSize(c, c.source.path);
    }
  }
  let total = 0;
  for (const c of chunks) {
    if (!isBodyRef(c)) {
      await write(out, c);
      total += c.length;
      continue;
    }
    const whole = preread.get(c);
    if (whole) {
      await write(out, whole);
      total += whole.length;
      continue;
    }
    const src = c.source;
    if (c.size === 0 && src.type === 'path') continue;
    const body: AsyncIterable<Uint8Array> =
      src.type === 'path' ? fs.createReadStream(src.path, { start: 0, end: c.size - 1, highWaterMark: readSize }) : src.open();
    let got = 0;
    for await (const piece of body) {
      const buf = asBuffer(piece);
      if (got + buf.length > c.size) throw sizeError(c, `more than ${c.size} bytes`);
      got += buf.length;
      await write(out, buf);
    }
    if (got !== c.size) throw sizeError(c, `${got} bytes, header says ${c.size}`);
    total += got;
  }
  return total;
}

async function checkSize(ref: BodyRef, path: string): Promise<void> {
  const st = await fs.promises.stat(path);
  if (st.size !== ref.size) throw sizeError(ref, `${path} is ${st.size} bytes, header says ${ref.size}`);
}

function sizeError(ref: BodyRef, what: string): DlistError {
  return new DlistError('FILE_SIZE', `file literal ${ref.guid}: ${what}`);
}

/** One write; waits for 'drain' when the stream asks, and fails if it dies meanwhile. */
async function write(out: Writable, buf: Buffer): Promise<void> {
  if (out.destroyed || out.writableEnded) throw out.errored ?? new Error('write to a closed stream');
  if (out.write(buf)) return;
  const ac = new AbortController();
  try {
    await Promise.race([
      once(out, 'drain', { signal: ac.signal }),
      once(out, 'close', { signal: ac.signal }).then(() => {
        throw out.errored ?? new Error('stream closed while waiting for drain');
      }),
    ]);
  } finally {
    ac.abort();
  }
}
