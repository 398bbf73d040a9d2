/**
 * Obligation ids: the one place their format is written. Every id is `<kind>:<key>`, the kind
 * naming the obligation (the prefix the store, the recovery log and the operator commands
 * show); everything that builds or reads an id imports it from here.
 */

export const SWAP_KIND = 'swap';
export const JOB_KIND = 'job';

/** `swap:<swap id>`: swap ids are the contract's and never reused. */
export function swapMachineId(swapId: string): string {
  return `${SWAP_KIND}:${swapId}`;
}

/** `job:<chain>:<job id>`: job ids are unique per escrow chain only. */
export function jobMachineId(job: { readonly chain: string; readonly jobId: string }): string {
  return `${JOB_KIND}:${job.chain}:${job.jobId}`;
}

/** The kind an id starts with: `swap` of `swap:7`. */
export function kindOfMachineId(id: string): string {
  const colon = id.indexOf(':');
  return colon < 0 ? id : id.slice(0, colon);
}
