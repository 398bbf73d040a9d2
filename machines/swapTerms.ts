/**
 * What is wrong with a swap's data, judged without any chain: amounts, addresses, deadlines,
 * the payout rule, the destination chain's mark policy, the hub. A problem here rejects the
 * swap before anything is signed. (What only an adapter can judge, such as whether an address
 * parses or whether we hold the pinned sender's key, the host checks and sends as REJECT.)
 */
import { DECIMAL_INTEGER, isPositiveAmount } from './stateMeta.ts';
import { markPointOf, requiredPayout, SOLANA_HUBS, SWAP_CONTRACT_KINDS } from './swapRules.ts';
import type { SwapTerms } from './swapTypes.ts';

/** Null when sound. */
export function swapTermsProblem(terms: SwapTerms): string | null {
  if (!SWAP_CONTRACT_KINDS.includes(terms.contract)) return `unknown swap contract '${String(terms.contract)}'`;
  if (!DECIMAL_INTEGER.test(terms.destAmount)) return `dest_amount '${terms.destAmount}' is not a non-negative integer`;
  if (!isPositiveAmount(terms.sourceAmount)) return `source_amount '${terms.sourceAmount}' is not a positive integer`;
  const payout = requiredPayout(terms.contract, BigInt(terms.destAmount));
  if (payout <= 0n)
    return `the contract's payout for dest_amount ${terms.destAmount} is ${payout}: nothing to pay, refused`;
  if (terms.userDestAddress.trim() === '') return 'user_dest_address is empty';
  if (terms.destChain.trim() === '') return 'dest_chain is empty';
  if (!Number.isSafeInteger(terms.sourceTxBlock) || terms.sourceTxBlock < 0)
    return `source_tx_block ${terms.sourceTxBlock} is not a non-negative integer`;
  if (terms.senderPin !== '' && terms.senderPin === terms.userDestAddress) {
    return `the pinned sender ${terms.senderPin} is the recipient: validators refuse a self-transfer`;
  }
  if (
    !Number.isSafeInteger(terms.timeoutAt) ||
    !Number.isSafeInteger(terms.initiatedAt) ||
    terms.timeoutAt <= terms.initiatedAt
  ) {
    return `timeout ${terms.timeoutAt} is not after initiation ${terms.initiatedAt}`;
  }
  return terms.contract === 'solana' ? solanaProblem(terms) : null;
}

function solanaProblem(terms: SwapTerms): string | null {
  if (!/^[0-9a-f]{64}$/.test(terms.swapId)) return `swap key '${terms.swapId}' is not 64 hex digits`;
  if (markPointOf('solana', terms.destChain) === null)
    return `destination chain '${terms.destChain}' is not one the swap manager's validators verify`;
  if (!SOLANA_HUBS.includes(terms.hub))
    return `hub '${terms.hub}' is not a backing of the swap manager (${SOLANA_HUBS.join(', ')})`;
  if (terms.maxExtendAt === null || terms.maxExtendAt < terms.timeoutAt)
    return `max_extend_at ${String(terms.maxExtendAt)} is before the timeout ${terms.timeoutAt}`;
  return null;
}
