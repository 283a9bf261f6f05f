/**
 * Admin touch files in the channel directory, per user:
 *
 * - `skipuser-<userid>`: while it exists, the user's lines are not given to
 *   the replicator. They are parked in the retry journal, in order, and go
 *   out once the file is removed (Cyrus 3.12 drops them instead; parking
 *   loses nothing and needs no resync afterwards).
 * - `resyncuser-<userid>`: the user's shard replicates a synthetic
 *   `USER <userid>` (a full user sync), then removes the file.
 *
 * <userid> is the name as USER lines carry it; it maps to a shard key the
 * way routing does (so `john.smith@<defaultdomain>` is `john.smith`). The
 * shared keys work too: `skipuser-@example.com` parks the shared mailboxes
 * of example.com. Names are raw bytes (latin1), like everything in the log.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ParsedLineRouter, shardOfKey, type RouteOptions } from '../synclog/index.js';
import { RESYNC_PREFIX, SKIP_PREFIX } from './files.js';
import type { LogFn } from './log.js';

export interface ResyncRequest {
  /** The userid as the file names it: the argument of the USER line. */
  readonly userid: string;
  readonly key: string;
  /** The touch file (a Buffer path, since names are bytes). */
  readonly file: Buffer;
}

export class ControlFiles {
  private skipped = new Set<string>();
  private readonly warned = new Set<string>();

  constructor(
    private readonly dir: string,
    private readonly shard: number,
    private readonly shards: number,
    route: RouteOptions,
    private readonly log: LogFn,
  ) {
    this.router = new ParsedLineRouter(route);
  }

  private readonly router: ParsedLineRouter;

  isSkipped(key: string): boolean {
    return this.skipped.has(key);
  }

  get skippedCount(): number {
    return this.skipped.size;
  }

  /** Re-reads the directory: updates the skip set, returns this shard's resync requests. */
  refresh(): ResyncRequest[] {
    const skipped = new Set<string>();
    const resyncs: ResyncRequest[] = [];
    for (const raw of fs.readdirSync(this.dir, { encoding: 'buffer' })) {
      const name = raw.toString('latin1');
      const prefix = name.startsWith(SKIP_PREFIX) ? SKIP_PREFIX : name.startsWith(RESYNC_PREFIX) ? RESYNC_PREFIX : null;
      if (prefix === null) continue;
      const userid = name.slice(prefix.length);
      const key = this.keyOf(userid, name);
      if (key === null) continue;
      if (prefix === SKIP_PREFIX) skipped.add(key);
      else if (shardOfKey(key, this.shards) === this.shard) {
        resyncs.push({ userid, key, file: Buffer.concat([Buffer.from(`${this.dir}${path.sep}`), raw]) });
      }
    }
    this.skipped = skipped;
    return resyncs;
  }

  /** Removes a resync request's touch file once it is handled. */
  remove(request: ResyncRequest): void {
    try {
      fs.unlinkSync(request.file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  private keyOf(userid: string, name: string): string | null {
    if (userid === '' || /[\r\n\0]/.test(userid)) {
      if (!this.warned.has(name)) this.log('warning', `ignoring touch file with an unusable userid: ${JSON.stringify(name)}`);
      this.warned.add(name);
      return null;
    }
    const route = this.router.route({ type: 'USER', args: [userid] });
    return route.kind === 'single' ? route.key : route.keys[0];
  }
}
