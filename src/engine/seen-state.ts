/**
 * A user's seen state for one mailbox, as APPLY SEEN carries it, and the
 * comparison stock uses to decide whether to send it. Pure.
 */
export interface SeenState {
  lastread: number;
  lastuid: number;
  lastchange: number;
  seenuids: string;
}

export function seenDiffers(local: SeenState, remote: SeenState | undefined): boolean {
  if (!remote) return true;
  return local.lastuid !== remote.lastuid || local.lastread !== remote.lastread
    || local.lastchange !== remote.lastchange || local.seenuids !== remote.seenuids;
}
