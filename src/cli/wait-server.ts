/**
 * The daemon's local socket API: `syncmux.sock` in the channel directory,
 * mode 0660, owned by cyrus (the daemon runs as cyrus), so only cyrus and
 * its group can ask. One JSON request per line, one JSON reply per line:
 *
 *   > {"op":"wait","user":"U","timeoutMs":5000}
 *   < {"ok":true,"ms":12}  |  {"ok":false,"timeout":true,"ms":5000}
 *   < {"ok":false,"stopped":true,"error":"…"}  (shutting down)  |  {"ok":false,"error":"…"}
 *
 * A socket another live daemon answers on is left alone (no API here); a
 * dead one's is replaced. Any failure to serve is logged, never fatal:
 * replication does not depend on the API.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { chownToCyrus } from '../engine/index.js';
import type { Logger } from './logger.js';
import { waitForUser, type WaitContext } from './wait-user.js';

export const SOCKET_FILE = 'syncmux.sock';
const MAX_REQUEST_BYTES = 8192;
const MAX_TIMEOUT_MS = 24 * 3600 * 1000;

export interface WaitServer {
  close(): Promise<void>;
}

export async function startWaitServer(ctx: WaitContext, log: Logger): Promise<WaitServer | null> {
  const file = path.join(ctx.channelDir, SOCKET_FILE);
  try {
    if (await answers(file)) {
      log.log('warning', `${file} belongs to another running syncmux; no wait API from this one`);
      return null;
    }
    fs.rmSync(file, { force: true }); // a dead daemon's
    const connections = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      connections.add(socket);
      socket.on('close', () => connections.delete(socket));
      serve(socket, ctx, log);
    });
    // Bound under a temporary name and renamed into place once its mode and owner are right,
    // so no client ever finds the socket with the wrong permissions.
    const staging = `${file}.${process.pid}`;
    fs.rmSync(staging, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(staging, () => resolve());
    });
    server.on('error', (error) => log.log('err', `wait API: ${error.message}`));
    fs.chmodSync(staging, 0o660);
    chownToCyrus(staging);
    fs.renameSync(staging, file);
    letGroupReachSocket(ctx.channelDir);
    return {
      close: () => {
        for (const socket of connections) socket.destroy();
        return new Promise<void>((resolve) => server.close(() => {
          fs.rmSync(file, { force: true });
          resolve();
        }));
      },
    };
  } catch (error) {
    log.log('err', `wait API on ${file} not available: ${(error as Error).message}`);
    return null;
  }
}

/**
 * `syncmux wait` is for cyrus and its group (mail on Debian: an MTA hook
 * runs as the MTA's user in that group). The socket is 0660; the channel
 * directory, 0700 as Cyrus makes it, gains group search only (0710): the
 * group reaches the socket by name and nothing else (every file there is
 * 0600 and the directory cannot be listed).
 */
function letGroupReachSocket(dir: string): void {
  const st = fs.statSync(dir);
  if (st.uid === process.geteuid?.() && (st.mode & 0o010) === 0) fs.chmodSync(dir, (st.mode & 0o7777) | 0o010);
}

function serve(socket: net.Socket, ctx: WaitContext, log: Logger): void {
  const gone = new AbortController();
  let buffered = '';
  let busy = false;
  socket.setEncoding('utf8');
  socket.on('error', () => {}); // a client that went away: nothing to tell
  socket.on('close', () => gone.abort());
  socket.on('data', (chunk: string) => {
    if (busy) return; // one request per connection
    buffered += chunk;
    const eol = buffered.indexOf('\n');
    if (eol < 0) {
      if (buffered.length > MAX_REQUEST_BYTES) {
        busy = true;
        reply(socket, { ok: false, error: 'request too long' });
      }
      return;
    }
    busy = true;
    answer(buffered.slice(0, eol), ctx, gone.signal).then(
      (response) => reply(socket, response),
      (error: unknown) => {
        log.log('warning', `wait API: ${(error as Error).message}`);
        reply(socket, { ok: false, error: (error as Error).message });
      },
    );
  });
}

async function answer(line: string, ctx: WaitContext, signal: AbortSignal): Promise<object> {
  let request: { op?: unknown; user?: unknown; timeoutMs?: unknown };
  try {
    request = JSON.parse(line) as typeof request;
  } catch {
    return { ok: false, error: 'request is not JSON' };
  }
  const { op, user, timeoutMs } = request ?? {};
  if (op !== 'wait') return { ok: false, error: `unknown op ${JSON.stringify(op)}` };
  if (typeof user !== 'string' || user === '' || /[\0\r\n]/.test(user)) return { ok: false, error: 'user must be a userid' };
  if (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > MAX_TIMEOUT_MS) {
    return { ok: false, error: `timeoutMs must be an integer from 0 to ${MAX_TIMEOUT_MS}` };
  }
  const result = await waitForUser(ctx, user, timeoutMs, signal);
  if (result.stopped) return { ok: false, stopped: true, error: 'syncmux is stopping' };
  return result.ok ? { ok: true, ms: result.ms } : { ok: false, timeout: true, ms: result.ms };
}

function reply(socket: net.Socket, response: object): void {
  if (!socket.destroyed) socket.end(`${JSON.stringify(response)}\n`);
}

/** True when a live process accepts connections on the socket. */
function answers(file: string): Promise<boolean> {
  if (!fs.existsSync(file)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const probe = net.connect(file);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}
