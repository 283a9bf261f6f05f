/**
 * What `syncmux verify` reports: one divergence between the master and the
 * replica, named by user, object and what differs, and its one-line text.
 * Pure.
 */
export type DivergenceKind =
  | 'user-only-on-replica'
  | 'mailbox-missing'
  | 'mailbox-only-on-replica'
  | 'mailbox-renamed'
  | 'mailbox-state'
  | 'quota'
  | 'subscription'
  | 'seen'
  | 'sieve';

export interface Divergence {
  /** The user (or `@` for shared mailboxes). */
  user: string;
  kind: DivergenceKind;
  /** Mailbox name, quota root, subscribed name or seen uniqueid. */
  object: string;
  /** What differs, e.g. `HIGHESTMODSEQ master=12 replica=14`. */
  detail: string;
}

export function formatDivergence(d: Divergence): string {
  return `${d.user}: ${d.kind} ${d.object}: ${d.detail}`;
}
