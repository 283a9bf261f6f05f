/**
 * Captures syslog(3) output during tests: binds /dev/log (only when nothing
 * else owns it, as in containers and CI) with a tiny python3 receiver and
 * reads back the lines. Cyrus and our addon both log through syslog(3).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const DEV_LOG = '/dev/log';

export class SyslogSink {
  private constructor(private readonly child: ChildProcess, readonly file: string, private readonly dir: string) {}

  /** Null, with the reason, when /dev/log belongs to someone else. */
  static unavailableReason(): string | null {
    if (fs.existsSync(DEV_LOG)) return `${DEV_LOG} already exists (a system syslog daemon?); not taking it over`;
    if (process.getuid?.() !== 0) return `binding ${DEV_LOG} needs root`;
    return null;
  }

  static async start(): Promise<SyslogSink> {
    const reason = SyslogSink.unavailableReason();
    if (reason) throw new Error(reason);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'syncmux-syslog-'));
    const file = path.join(dir, 'syslog.log');
    const script = new URL('./syslog-sink.py', import.meta.url).pathname;
    const child = spawn('python3', [script, DEV_LOG, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`syslog sink exited ${code}`)));
      child.stdout!.once('data', () => resolve());
    });
    return new SyslogSink(child, file, dir);
  }

  lines(): string[] {
    return fs.existsSync(this.file) ? fs.readFileSync(this.file, 'utf8').split('\n').filter(Boolean) : [];
  }

  /** Waits until a line matches, or times out with what was seen. */
  async waitFor(pattern: RegExp, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.lines().find((l) => pattern.test(l));
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no syslog line matching ${pattern}; got:\n${this.lines().join('\n')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
