/** Points a lab channel's sync_port at another port (a delay proxy); clients read it at start. */
import fs from 'node:fs';
import type { CyrusLab } from '../../lab/cyrus-lab.js';

export function setSyncPort(lab: CyrusLab, port: number): void {
  const file = lab.master.paths.imapdConf;
  const text = fs.readFileSync(file, 'utf8').replace(new RegExp(`^${lab.channel}_sync_port: .*$`, 'm'), `${lab.channel}_sync_port: ${port}`);
  fs.writeFileSync(file, text);
}
