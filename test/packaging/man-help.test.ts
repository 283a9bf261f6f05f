/**
 * The man pages render without a groff warning and document every syncmux
 * command and every syncmux-client option; --help and --version of both
 * commands (sources and, when built, the dist/bin bundles) exit 0 with the
 * usage and package.json's version.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SYNC_CLIENT_GETOPT } from '../../src/cli/client-options.js';
import { skip } from '../support/skip.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const man = (name: string) => path.join(root, 'packaging/man', `${name}.8`);
const version = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
const COMMANDS = ['split', 'run', 'status', 'metrics', 'resync', 'skip', 'unskip', 'wait', 'verify', 'handback'];

function cli(file: string, args: string[]) {
  const argv = file.endsWith('.ts') ? ['--import', 'tsx', file, ...args] : [file, ...args];
  return spawnSync(process.execPath, argv, { cwd: root, encoding: 'utf8', timeout: 30_000 });
}

test('the man pages render cleanly and cover every command and option', () => {
  const groff = spawnSync('groff', ['--version'], { encoding: 'utf8' });
  if (groff.status !== 0) return skip('man pages render', 'groff is not installed (apt-get install groff-base)');
  for (const name of ['syncmux', 'syncmux-client']) {
    const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', man(name)], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8' } });
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stderr, '', `${name}.8: ${r.stderr}`);
  }
  const text = (name: string) => spawnSync('groff', ['-man', '-Tascii', '-P', '-cbou', man(name)], { encoding: 'utf8' }).stdout;
  const daemon = text('syncmux');
  for (const c of COMMANDS) assert.match(daemon, new RegExp(`^ {7}${c}\\b`, 'm'), `syncmux(8) lacks ${c}`);
  const client = text('syncmux-client');
  for (const flag of SYNC_CLIENT_GETOPT.replace(/:/g, '')) assert.match(client, new RegExp(`^ {7}-${flag}\\b`, 'm'), `syncmux-client(8) lacks -${flag}`);
});

for (const [label, dir, ext] of [['sources', 'src/cli', '.ts'], ['bundles', 'dist/bin', '.js']] as const) {
  test(`--help and --version (${label})`, () => {
    const daemon = path.join(root, dir, `syncmux${ext}`);
    const client = path.join(root, dir, `syncmux-client${ext}`);
    if (!fs.existsSync(daemon)) return skip(`--help and --version (${label})`, `${dir} is not built: run npm run build`);
    for (const [file, name] of [[daemon, 'syncmux'], [client, 'syncmux-client']] as const) {
      const v = cli(file, ['--version']);
      assert.is(v.status, 0, v.stderr);
      assert.is(v.stdout, `${name} ${version}\n`);
      const h = cli(file, ['--help']);
      assert.is(h.status, 0, h.stderr);
      assert.match(h.stdout, new RegExp(`^usage: ${name} `));
      assert.match(h.stdout, new RegExp(`See ${name}\\(8\\)`));
    }
    const usage = cli(daemon, ['--help']).stdout;
    for (const c of COMMANDS) assert.match(usage, new RegExp(`^  ${c} `, 'm'));
    const verify = cli(daemon, ['verify', '--help']);
    assert.is(verify.status, 0);
    assert.match(verify.stdout, /^usage: syncmux verify .*--all/);
    // Stock's getopt rules still hold around them: --help with anything else is a usage error.
    assert.is(cli(client, ['--help', '-r']).status, 64);
    assert.is(cli(daemon, ['nonsense']).status, 64);
  });
}

test.run();
