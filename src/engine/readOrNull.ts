/** A read from a chain for an observer: its value, or null (logged) when it fails. */
import { errorField } from '../errors.ts';
import type { Logger } from '../host/ports.ts';
import { isSimulatedCrash } from './crashpoints.ts';

/** The tick goes on without what failed; a simulated crash is never taken for a failed read. */
export async function readOrNull<T>(log: Logger, read: () => Promise<T>, whenFailed: string): Promise<T | null> {
  try {
    return await read();
  } catch (error) {
    if (isSimulatedCrash(error)) throw error;
    log.warn({ err: errorField(error) }, whenFailed);
    return null;
  }
}
