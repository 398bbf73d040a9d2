/**
 * The names of the invariants, defined once: the simulator's checkers and summary, the
 * CLI's reports, the diagrams' report and the tests all import them from here, so a renamed
 * invariant cannot leave a checker and its report disagreeing.
 */
export const INVARIANT = {
  noDoubleSend: 'no double send',
  noLostSend: 'no lost send',
  noSendTooLate: 'no send too late',
  neverPaidShort: 'never paid less than the contract requires',
  neverPaidFromElsewhere: 'never paid from an address other than the pin',
  neverMarkedUnpaid: 'never marked a swap we did not pay',
  neverPaidUnverified: 'never paid a swap whose deposit was not verified at the required confirmations',
  neverStarvedEarlier: 'never paid a later swap while an earlier one on the same chain was unfunded',
  noLostClaim: 'no lost claim',
  noDoubleClaim: 'no double claim',
  claimRecordedAsPaid: 'claim recorded as paid (gross, fee, net)',
  restartIsInvisible: 'restart is invisible',
  recoveryEntryExactlyOnce: 'recovery entry exactly once',
} as const;

export type InvariantName = (typeof INVARIANT)[keyof typeof INVARIANT];
