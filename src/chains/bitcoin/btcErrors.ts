/**
 * The BTC sender's operational errors, one class per case, matched with instanceof. Each is
 * thrown before anything is broadcast, or by a broadcast that changed nothing: the host retries
 * the step at its next tick.
 */
/** Below Bitcoin Core's dust threshold for the destination's script: no node relays it. */
export class BtcDustAmount extends Error {
  override readonly name = 'BtcDustAmount';
}
/** The confirmed, unreserved outputs of the pinned address do not cover amount and fee. */
export class BtcInsufficientFunds extends Error {
  override readonly name = 'BtcInsufficientFunds';
}
/** The fee rate from the API is above the configured ceiling. */
export class BtcFeeRateTooHigh extends Error {
  override readonly name = 'BtcFeeRateTooHigh';
}
/** The node refused the bytes, and that refusal does not prove they can never land. */
export class BtcBroadcastRefused extends Error {
  override readonly name = 'BtcBroadcastRefused';
}
/** The journal holds MAX_JOURNAL_ENTRIES payouts: none is signed until some are buried. */
export class BtcJournalFull extends Error {
  override readonly name = 'BtcJournalFull';
}
