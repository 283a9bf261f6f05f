/**
 * `syncmux wait --user U [--timeout MS]`: asks the running daemon, over its
 * socket (wait-server.ts), to say when everything logged for U so far is
 * on the replica. Prints `ok <ms>` (exit 0) or `timeout after <ms>`
 * (exit 1); exit 2 when no daemon answers. It keeps its own timer, so it
 * never blocks longer than the timeout, whatever the daemon does. It only
 * asks: a delivery agent calling it cannot make a delivery fail.
 */
import net from 'node:net';
import path from 'node:path';
import type { Command } from './syncmux-commands.js';
import { SOCKET_FILE } from './wait-server.js';
import { EXIT } from './exit-codes.js';

const DEFAULT_TIMEOUT_MS = 5000;

type Outcome = { kind: 'ok' | 'timeout'; ms: number } | { kind: 'down' | 'error'; message: string };

export const waitCommand: Command = async (ctx) => {
  const user = ctx.values.user;
  if (typeof user !== 'string' || user === '' || /[\0\r\n]/.test(user)) {
    process.stderr.write('syncmux wait: --user <userid> is required\n');
    return EXIT.USAGE;
  }
  const timeoutMs = ctx.values.timeout === undefined ? DEFAULT_TIMEOUT_MS : Number(ctx.values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > 86_400_000) {
    process.stderr.write(`syncmux wait: --timeout must be milliseconds from 0 to 86400000, got ${String(ctx.values.timeout)}\n`);
    return EXIT.USAGE;
  }
  const socket = path.join(ctx.channelDir, SOCKET_FILE);
  const outcome = await askDaemon(socket, user, timeoutMs);
  switch (outcome.kind) {
    case 'ok':
      process.stdout.write(`ok ${outcome.ms}\n`);
      return EXIT.OK;
    case 'timeout':
      process.stdout.write(`timeout after ${outcome.ms}\n`);
      return EXIT.FAIL;
    case 'down':
      process.stderr.write(`syncmux wait: syncmux run is not running for channel ${ctx.channel ?? '(default)'}: ${outcome.message}\n`);
      return EXIT.DAEMON_DOWN;
    default:
      process.stderr.write(`syncmux wait: ${outcome.message}\n`);
      return EXIT.SOFTWARE;
  }
};

export function askDaemon(socketFile: string, user: string, timeoutMs: number): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    let text = '';
    let connected = false;
    const socket = net.connect(socketFile);
    const finish = (outcome: Outcome): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout', ms: Date.now() - started }), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => {
      connected = true;
      socket.write(`${JSON.stringify({ op: 'wait', user, timeoutMs })}\n`);
    });
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!connected) finish({ kind: 'down', message: `cannot connect to ${socketFile} (${error.code ?? error.message})` });
      else finish({ kind: 'error', message: `lost the daemon: ${error.message}` });
    });
    socket.on('end', () => finish(parseReply(text, socketFile, started)));
  });
}

function parseReply(text: string, socketFile: string, started: number): Outcome {
  let reply: { ok?: unknown; timeout?: unknown; stopped?: unknown; ms?: unknown; error?: unknown };
  try {
    reply = JSON.parse(text) as typeof reply;
  } catch {
    // The daemon went away mid-wait (stopped): it is not running any more.
    return { kind: 'down', message: `${socketFile} closed without an answer` };
  }
  const ms = typeof reply.ms === 'number' ? reply.ms : Date.now() - started;
  if (reply.ok === true) return { kind: 'ok', ms };
  if (reply.timeout === true) return { kind: 'timeout', ms };
  if (reply.stopped === true) return { kind: 'down', message: String(reply.error) };
  return { kind: 'error', message: String(reply.error ?? 'unexpected reply') };
}
