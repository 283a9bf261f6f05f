/**
 * APPLY QUOTA fields from a master quota root, the limits a replica reports
 * for one, and the comparison that decides whether to send them
 * (sync-protocol.md §5.5). We send the legacy names, as 3.6.1 does, which
 * every replica up to 3.12 still reads; a 3.10+ replica reports each limit
 * under both its RFC 9208 and its legacy name, and either is accepted. Pure.
 */
import { QUOTA_RESOURCES, resourceNames, type QuotaEntry, type QuotaResource } from '../cyrus/index.js';
import type { Node } from '../dlist/index.js';

export type QuotaLimits = Readonly<Record<QuotaResource, bigint | null>>;

/** The storage limit of the legacy LIMIT key when there is none. */
const UNLIMITED = 4294967295n;

export function quotaFields(q: QuotaEntry): Array<[string, string | bigint]> {
  const fields: Array<[string, string | bigint]> = [
    ['ROOT', q.root],
    ['LIMIT', q.limits.STORAGE ?? UNLIMITED],
  ];
  for (const r of QUOTA_RESOURCES) {
    const limit = q.limits[r];
    if (limit !== null && limit >= 0n) fields.push([r, limit]);
  }
  fields.push(['MODSEQ', q.modseq]);
  return fields;
}

export function quotaDiffers(local: QuotaEntry, remote: QuotaLimits | undefined): boolean {
  if (!remote) return true;
  return QUOTA_RESOURCES.some((r) => normal(local.limits[r]) !== normal(remote[r]));
}

const normal = (v: bigint | null): bigint | null => (v === null || v < 0n ? null : v);

/** The limits of a replica's `QUOTA %(ROOT … STORAGE n …)` (sync_decode_quota_limits): either name, absent = unlimited. */
export function replicaQuotaLimits(v: Node): QuotaLimits {
  const get = (r: QuotaResource): bigint | null => {
    for (const name of resourceNames(r)) if (v.has(name)) return v.get(name)!.asBigInt() ?? null;
    return null;
  };
  return { STORAGE: get('STORAGE'), MESSAGE: get('MESSAGE'), 'X-ANNOTATION-STORAGE': get('X-ANNOTATION-STORAGE'), 'X-NUM-FOLDERS': get('X-NUM-FOLDERS') };
}
