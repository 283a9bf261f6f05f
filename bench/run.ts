/**
 * `npm run bench`: runs every benchmark module and prints one table each.
 * Modules are optional so a bench can land before its neighbours.
 */
import fs from 'node:fs';
import path from 'node:path';

type Row = Record<string, string | number>;
const here = path.dirname(new URL(import.meta.url).pathname);
const only = process.argv[2];

const suites: Array<[string, string, string[]]> = [
  ['addon', 'native.bench.ts', ['benchHash', 'benchAppend']],
  ['sync log splitter', 'split.bench.ts', ['benchSplit']],
  ['DLIST codec', 'dlist.bench.ts', ['benchDlist']],
  ['master state reader', 'cyrus.bench.ts', ['benchCyrus']],
  ['replica connection', 'protocol.bench.ts', ['benchProtocol']],
];

console.log(`syncmux bench — ${new Date().toISOString()} — node ${process.version}, ${process.arch}`);
for (const [title, file, fns] of suites) {
  if (only && !title.includes(only) && !file.includes(only)) continue;
  if (!fs.existsSync(path.join(here, file))) continue;
  const mod = (await import(`./${file}`)) as Record<string, () => Row[] | Promise<Row[]>>;
  for (const fn of fns) {
    const bench = mod[fn];
    if (!bench) continue;
    console.log(`\n## ${title}: ${fn}`);
    console.table(await bench());
  }
}
