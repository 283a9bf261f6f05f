import fs from 'node:fs';
import { CyrusLab } from '../../lab/cyrus-lab.js';
import { createUser } from '../../lab/lab-ops.js';
import { CLIENTS } from './clients.js';
import { steadyCpu } from './steady.js';
const name = process.argv[2] ?? 'syncmux-client -R';
const rate = Number(process.argv[3] ?? 20), users = Number(process.argv[4] ?? 20), secs = Number(process.argv[5] ?? 20);
const lab = await CyrusLab.start();
const us = Array.from({ length: users }, (_, i) => `cpu${i}`);
for (const u of us) await createUser(lab, u, ['Sent']);
lab.stockSyncClient(['-A']);
fs.rmSync(`${lab.syncLogDir()}/log`, { force: true });
const spec = CLIENTS.find((c) => c.name === name)!;
// sample thread CPU of the client right before stop
const orig = (await import('./clients.js')).RunningClient.prototype.stop;
(await import('./clients.js')).RunningClient.prototype.stop = async function (this: any) {
  const pid = this.pid;
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    const st = fs.readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
    const comm = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'));
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    const u = Number(f[11]), s = Number(f[12]);
    if (u + s > 0) console.log(`thread ${t} ${comm} utime ${u / 100} stime ${s / 100}`);
  }
  return orig.call(this);
};
const r = await steadyCpu(lab, spec, us, rate, secs, 2000, Number(process.env.WARM ?? 0));
console.log(JSON.stringify(r));
await lab.destroy();
