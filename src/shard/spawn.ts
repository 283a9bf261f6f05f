/**
 * Starting a worker thread from a module URL. Compiled .js starts directly;
 * a .ts module (tests, `tsx` runs), or a worker that will import one (a .ts
 * replicator module), cannot (ERR_UNKNOWN_FILE_EXTENSION, tsx issue #354),
 * so it starts through a small eval bootstrap that registers tsx in the new
 * thread first (reference: node-stack.md §4.4).
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function needsTsx(...urls: ReadonlyArray<string | URL>): boolean {
  return urls.some((url) => /\.ts(?:$|[?#])/.test(String(url)));
}

export function startWorker(url: URL, options: WorkerOptions, tsx = needsTsx(url)): Worker {
  if (!tsx) return new Worker(url, options);
  // Resolved here, not in the eval'd code, which has no module location to resolve from.
  const api = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}
