/**
 * One bench row on a fresh lab, the frame every row of the benches shares:
 * `fill` measures and adds its figures; the row then says whether master ==
 * replica (for the users `fill` returns, else all), or carries the error;
 * the lab always goes. seededUsers gives a row its users, already on the
 * replica through stock `sync_client -A`.
 */
import { CyrusLab, type LabOptions } from '../../lab/cyrus-lab.js';
import { compareLab } from '../../lab/compare.js';
import { createUser } from '../../lab/lab-ops.js';
import type { Row } from './table.js';

export async function rowOnLab(row: Row, options: LabOptions, fill: (lab: CyrusLab) => Promise<string[] | void>): Promise<Row> {
  const lab = await CyrusLab.start(options);
  try {
    const users = await fill(lab);
    const after = await compareLab(lab, users ?? undefined);
    row.equal = after.equal ? 'yes' : `NO (${after.differences.length})`;
  } catch (err) {
    row.error = (err as Error).message.slice(0, 300);
  } finally {
    await lab.destroy();
  }
  return row;
}

/** `count` users named prefix0…, with `folders` (and what `fill` gives them), replicated once by stock -A. */
export async function seededUsers(lab: CyrusLab, prefix: string, count: number, folders: string[], fill?: (users: string[]) => Promise<void>): Promise<string[]> {
  const users = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
  for (const u of users) await createUser(lab, u, folders);
  await fill?.(users);
  const seeded = lab.stockSyncClient(['-A'], { check: false });
  if (seeded.status !== 0) throw new Error(`seeding with stock -A failed: ${seeded.stderr}`);
  return users;
}
