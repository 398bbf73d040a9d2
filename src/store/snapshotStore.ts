/**
 * The port through which the host keeps machines durable. One record per obligation; a
 * record is live until its machine is final and its effects are done, then archived.
 */
import { assert } from '../errors.ts';

export interface MachineRecord {
  /** "swap:<id>" or "job:<chain>:<jobId>". */
  readonly id: string;
  readonly machine: { readonly name: string; readonly version: number };
  /** Incremented on every write of this record: a reader can tell which is newer. */
  readonly seq: number;
  /** XState's persisted snapshot, as plain JSON. */
  readonly snapshot: unknown;
}

export type RecordPlace = 'live' | 'archived';

export interface SnapshotStore {
  /** Every live record, validated. */
  loadLive(): Promise<MachineRecord[]>;
  /** Where an id is known, if anywhere: an archived obligation must never be started again. */
  placeOf(id: string): RecordPlace | null;
  /** Durable when the promise resolves. */
  put(record: MachineRecord): Promise<void>;
  /**
   * Several records in one commit (group commit): every one durable when the promise
   * resolves. A crash meanwhile may leave any prefix of them on disk, never a torn record.
   */
  putMany(records: readonly MachineRecord[]): Promise<void>;
  /** Moves a live record out of the live set, durably. */
  archive(id: string): Promise<void>;
  /** Reads an archived record (for status and audits). */
  readArchived(id: string): Promise<MachineRecord>;
  /**
   * The store's identity and how far its log has gone (lines appended since it was created),
   * durable as of the last write that resolved; null for a store without a history (read as
   * an earlier release left it). What the witness journals record beside each broadcast.
   */
  history?(): StoreHistory | null;
}

/** A store's identity and position (see storeHistory.ts). */
export interface StoreHistory {
  readonly storeId: string;
  readonly position: number;
}

const ID_PATTERN = /^[a-z]+(:[A-Za-z0-9._-]+)+$/;

/** Ids are made by the host from validated terms: one of another form is a bug. */
export function assertRecordId(id: string): void {
  assert(ID_PATTERN.test(id), `machine id '${id}' does not match ${ID_PATTERN}`);
}

/** Ids map one-to-one onto file names: ':' is not portable in file names, '~' never occurs in ids. */
export function fileNameOf(id: string): string {
  assertRecordId(id);
  return `${id.replaceAll(':', '~')}.json`;
}

export function idOfFileName(name: string): string {
  return name.slice(0, -'.json'.length).replaceAll('~', ':');
}
