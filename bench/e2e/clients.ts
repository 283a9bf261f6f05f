/**
 * The replication clients the end-to-end benchmark compares, started the
 * same way an admin would start them: stock `sync_client -R`, the drop-in
 * `syncmux-client -R`, and the sharded `syncmux run --shards N`. Each is a
 * child process stopped with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { CyrusLab } from '../../lab/cyrus-lab.js';
import { cyrusEnv } from '../../lab/cyrus-installs.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

export interface ClientSpec {
  name: string;
  /** Shard count for `syncmux run`; undefined for the single-channel clients. */
  shards?: number;
  command(lab: CyrusLab): string[];
  /** Environment the command needs (stock sync_client runs from the master's Cyrus build). */
  env?(lab: CyrusLab): NodeJS.ProcessEnv;
}

/** Extra node flags for syncmux's clients (BENCH_NODE_FLAGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile them). */
const nodeFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);

/** What `npm run build` ships as the package's bin: syncmux-client is one esbuild bundle (dist/bin). */
function distOrTs(name: string): string[] {
  const node = [process.execPath, ...nodeFlags];
  const bundled = path.join(root, 'dist', 'bin', `${name}.js`);
  if (fs.existsSync(bundled)) return [...node, bundled];
  const dist = path.join(root, 'dist', 'cli', `${name}.js`);
  return fs.existsSync(dist) ? [...node, dist] : [...node, '--import', 'tsx', path.join(root, 'src', 'cli', `${name}.ts`)];
}

export const CLIENTS: ClientSpec[] = [
  {
    name: 'stock sync_client -R',
    command: (lab) => [path.join(lab.master.cyrus.binDir, 'sync_client'), '-C', lab.master.paths.imapdConf, '-n', lab.channel, '-R'],
    env: (lab) => cyrusEnv(lab.master.cyrus),
  },
  { name: 'syncmux-client -R', command: (lab) => [...distOrTs('syncmux-client'), '-C', lab.master.paths.imapdConf, '-n', lab.channel, '-R'] },
  ...[1, 4, 8].map((shards) => ({
    name: `syncmux run --shards ${shards}`,
    shards,
    command: (lab: CyrusLab) => [...distOrTs('syncmux'), 'run', '-C', lab.master.paths.imapdConf, '-n', lab.channel, '--shards', String(shards)],
  })),
];

export class RunningClient {
  private constructor(private readonly child: ChildProcess, readonly output: { text: string }) {}

  static start(spec: ClientSpec, lab: CyrusLab): RunningClient {
    const [cmd, ...args] = spec.command(lab);
    const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...(spec.env?.(lab) ?? process.env), UV_THREADPOOL_SIZE: '8' } });
    const output = { text: '' };
    const log = process.env.BENCH_CLIENT_LOG; // keep all of it, e.g. with BENCH_NODE_FLAGS="--trace-deopt"
    const keep = (c: Buffer) => {
      output.text = (output.text + c.toString()).slice(-20_000);
      if (log) fs.appendFileSync(log, c);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    return new RunningClient(child, output);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const done = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await done;
    clearTimeout(timer);
  }
}
