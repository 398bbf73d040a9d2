/**
 * The BTC payout bug a careless miner ships: after a crash it signs the swap's payout again,
 * and its coin selection, knowing nothing of the first payout, takes fresh inputs (the first
 * one's are spent in the mempool, so Esplora no longer lists them). Both payouts land.
 *
 * Planted in two halves, each harmless alone: the engine forgets the signed transfer of a swap
 * still sending (ResignsAfterRestart), and the BTC sender's journal lives in memory only, so a
 * new life cannot hand back the journaled bytes nor reserve their inputs.
 */
import type { SwapModuleOptions } from '../../sim/modules/swapModule.ts';
import type { BtcJournalEntry, PayoutJournal } from '../../src/chains/bitcoin/btcJournal.ts';
import type { EngineInterceptor } from '../../src/engine/interceptors.ts';
import { ResignsAfterRestart } from './plantedBugs.ts';

/** A payout journal in memory: gone with the process. */
export class ForgetfulPayoutJournal implements PayoutJournal {
  private list: BtcJournalEntry[] = [];
  get entries(): readonly BtcJournalEntry[] {
    return this.list;
  }
  bySwap(swapId: string): BtcJournalEntry | undefined {
    return this.list.find((e) => e.swapId === swapId);
  }
  async add(entry: BtcJournalEntry): Promise<void> {
    this.list.push(entry);
  }
  async remove(txids: ReadonlySet<string>): Promise<void> {
    this.list = this.list.filter((e) => !txids.has(e.txid));
  }
}

/** The sender's half: one forgetful journal per host life. */
export const forgetfulJournal: SwapModuleOptions['btcJournal'] = () => new ForgetfulPayoutJournal();

/** Both halves: re-sign with fresh inputs after a crash. */
export const ResignsWithFreshInputs: {
  readonly interceptors: readonly EngineInterceptor[];
  readonly btcJournal: SwapModuleOptions['btcJournal'];
} = {
  interceptors: ResignsAfterRestart,
  btcJournal: forgetfulJournal,
};
