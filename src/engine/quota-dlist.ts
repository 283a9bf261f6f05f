/**
 * APPLY QUOTA fields from a master quota root, and the comparison that
 * decides whether to send them (sync-protocol.md §5.5). Pure.
 */
import { QUOTA_RESOURCES, type QuotaEntry, type QuotaResource } from '../cyrus/quota.js';

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
