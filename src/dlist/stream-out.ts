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
import { isBodyRef } from './print.js';
import type { BodyRef, OutChunk } from './print.js';

export interface WriteOptions {
  /** Read size for file bodies. Default 64 KiB. */
  readSize?: number;
}

/** Writes all chunks; resolves to the byte count once the last write is accepted. */
export async function writeChunks(out: Writable, chunks: readonly OutChunk[], opts: WriteOptions = {}): Promise<number> {
  const readSize = opts.readSize ?? 64 * 1024;
  for (const c of chunks) if (isBodyRef(c) && c.source.type === 'path') await checkSize(c, c.source.path);
  let total = 0;
  for (const c of chunks) {
    if (!isBodyRef(c)) {
      await write(out, c);
      total += c.length;
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
