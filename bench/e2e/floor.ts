/**
 * The replica's floor for the burst: how long the replica alone needs to
 * apply it, with no client work on the clock.
 *
 * syncmux-client drains the burst once while the proxy records each
 * connection's bytes. The replica is then rewound to its state before the
 * burst (a copy taken while it was stopped, swapped back by rename, so no
 * inode is freed: see finishedLabs in e2e.bench.ts) and the recorded
 * streams are sent again from memory, every connection at once, as soon as
 * all handshakes are done. From that moment to the last reply is the time
 * the replica's own work takes; no client can drain the burst faster on this
 * machine. Compression is replayed as recorded (the deflate stream is part of
 * the bytes), so the replica does exactly the work it did for the client.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import zlib from 'node:zlib';
import { ResponseParser, type ResponseEvent } from '../../src/dlist/index.js';
import type { CyrusLab } from '../../lab/cyrus-lab.js';
import type { ClientSpec } from './clients.js';
import type { ConnectionRecording, DelayProxy } from '../delay-proxy.js';
import { cpuByCommandLine, cpuDelta } from './cpu.js';
import { burst } from './workloads.js';

export interface FloorResult {
  /** From the first replayed byte after the handshakes to the last reply. */
  seconds: number;
  /** The recorded client's own drain, for reference. */
  recordedDrainSeconds: number;
  connections: number;
  replicaCpu: number;
}

const isAnswer = (r: ResponseEvent): boolean => r.kind === 'status' && r.status !== 'BYE';

const COMPRESS_COMMAND = Buffer.from('COMPRESS DEFLATE\r\n');
const COMPRESS_REPLY = Buffer.from('DEFLATE active\r\n');

/** Splits a stream at the end of `marker`, or returns it whole when the marker is absent. */
function splitAfter(data: Buffer, marker: Buffer): [Buffer, Buffer | null] {
  const at = data.indexOf(marker);
  return at < 0 ? [data, null] : [data.subarray(0, at + marker.length), data.subarray(at + marker.length)];
}

/**
 * Answers to commands (OK/NO/BAD) after the handshake in a recorded server
 * stream. A BYE is not one: the recording can end with the replica's
 * "BYE shutting down" when the lab stopped it, which a replay never sees.
 */
function answersAfterHandshake(down: Buffer, commandsSent: boolean): number {
  const [, deflated] = splitAfter(down, COMPRESS_REPLY);
  // A connection still in its handshake when the client finished (the replica greets a burst of
  // connections one fork at a time) carried no work: nothing to replay.
  if (!deflated && !commandsSent) return 0;
  if (!deflated) throw new Error('the recorded connection did not use COMPRESS; the replay expects it');
  const plain = zlib.inflateRawSync(deflated, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return new ResponseParser().feed(plain).filter(isAnswer).length;
}

function splitLines(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length;) {
    const lf = data.indexOf(0x0a, at);
    const end = lf < 0 ? data.length : lf + 1;
    out.push(data.subarray(at, end));
    at = end;
  }
  return out;
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

class ReplayConnection {
  readonly handshakeDone: Promise<void>;
  readonly allReplies: Promise<number>;
  private readonly socket: net.Socket;

  constructor(port: number, private readonly recording: { handshake: Buffer; body: Buffer; expected: number }) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    let plain = Buffer.alloc(0);
    let inflate: zlib.InflateRaw | null = null;
    const parser = new ResponseParser();
    let seen = 0;
    const handshake = deferred<void>();
    const replies = deferred<number>();
    this.handshakeDone = handshake.promise;
    this.allReplies = replies.promise;
    this.allReplies.catch(() => {});
    const fail = (err: Error) => { handshake.reject(err); replies.reject(err); };
    const refusals: string[] = [];
    const onPlain = (chunk: Buffer) => {
      for (const r of parser.feed(chunk)) {
        if (r.kind !== 'status' || !isAnswer(r)) continue;
        if (r.status !== 'OK') refusals.push(`${r.status} ${r.text ?? ''}`.slice(0, 120));
        if (++seen === this.recording.expected) replies.resolve(performance.now());
      }
    };
    // The handshake goes line by line, each after the server's answer, as a
    // client does: sync_server drops input that arrives before a SASL or
    // COMPRESS switch.
    const lines = splitLines(recording.handshake);
    const sendNextLine = () => {
      const line = lines.shift();
      if (line) this.socket.write(line);
    };
    this.socket.on('data', (chunk: Buffer) => {
      if (inflate) return void inflate.write(chunk);
      plain = Buffer.concat([plain, chunk]);
      for (let lf = plain.indexOf(0x0a); lf >= 0 && !inflate; lf = plain.indexOf(0x0a)) {
        const line = plain.subarray(0, lf + 1).toString('latin1');
        plain = plain.subarray(lf + 1);
        if (/^(\* OK|OK|NO|BAD)\b/.test(line)) sendNextLine();
        if (!line.endsWith(COMPRESS_REPLY.toString('latin1'))) continue;
        inflate = zlib.createInflateRaw();
        inflate.on('data', onPlain);
        inflate.on('error', (err) => fail(err));
        if (plain.length) inflate.write(plain);
        handshake.resolve();
      }
    });
    this.socket.on('error', (err) => fail(err));
    // Replies still inside the inflater count: judge only once it has drained.
    const closedEarly = () => fail(new Error(`replica closed a replayed connection after ${seen} of ${this.recording.expected} replies${refusals.length ? ` (${refusals.join('; ')})` : ''}`));
    this.socket.on('close', () => {
      if (!inflate) return closedEarly();
      inflate.on('end', closedEarly);
      inflate.end();
    });
  }

  sendBody(): void {
    this.socket.write(this.recording.body);
  }

  close(): void {
    this.socket.destroy();
  }
}

async function replay(port: number, recordings: ConnectionRecording[]): Promise<number> {
  const prepared = recordings.map((r) => {
    const [handshake, body] = splitAfter(Buffer.concat(r.up), COMPRESS_COMMAND);
    return { handshake, body: body ?? Buffer.alloc(0), expected: answersAfterHandshake(Buffer.concat(r.down), !!body?.length) };
  }).filter((r) => r.expected > 0);
  const connections = prepared.map((r) => new ReplayConnection(port, r));

  try {
    await Promise.all(connections.map((c) => c.handshakeDone));
    const started = performance.now();
    for (const c of connections) c.sendBody();
    const finished = await Promise.all(connections.map((c) => c.allReplies));
    return (Math.max(...finished) - started) / 1000;
  } finally {
    for (const c of connections) c.close();
  }
}

export async function replicaFloor(lab: CyrusLab, proxy: DelayProxy, recorded: ClientSpec, users: string[], messages: number): Promise<FloorResult> {
  const root = lab.replica.paths.root;
  const before = `${root}.before-burst`;
  await lab.stopInstance(lab.replica);
  execFileSync('cp', ['-a', root, before]);
  await lab.restart(lab.replica);

  proxy.startRecording();
  const original = await burst(lab, recorded, users, messages);
  const recordings = proxy.stopRecording();

  await lab.stopInstance(lab.replica);
  fs.renameSync(root, `${root}.after-burst`);
  fs.renameSync(before, root);
  await lab.restart(lab.replica);

  const replicaBefore = cpuByCommandLine(lab.replica.paths.imapdConf);
  const seconds = await replay(proxy.port, recordings);
  const replicaCpu = cpuDelta(replicaBefore, cpuByCommandLine(lab.replica.paths.imapdConf));
  return { seconds, recordedDrainSeconds: original.drainSeconds, connections: recordings.length, replicaCpu };
}
