/**
 * Imported first by each CLI entry point, for its side effects: process-wide
 * runtime settings made before anything runs. An explicit setting wins.
 *
 * - A larger libuv pool. Every shard worker shares the one pool for file
 *   reads (message bodies), appends and zlib, and the default of 4 threads
 *   is too few for N workers.
 * - A later tier-up to V8's optimizing compiler. With the default budget a
 *   burst of 2000 messages had V8 compile optimized code for ~0.2 core-s on
 *   background threads, CPU the master's own Cyrus processes (or a
 *   co-located replica) need; with 600000 the client used 0.41 instead of
 *   0.55 core-s per burst and drained it no slower (bench/RESULTS.md). Hot
 *   code is still optimized, after more calls, so a long-running daemon's
 *   steady state is unchanged.
 */
import v8 from 'node:v8';

process.env.UV_THREADPOOL_SIZE ??= '16';

const givenFlags = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
if (!/--interrupt-budget\b/.test(givenFlags)) v8.setFlagsFromString('--interrupt-budget=600000');
