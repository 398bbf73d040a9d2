import type { JobTerms, SwapEvent, SwapTerms } from '../../machines/index.ts';

/** A swap of 100 to a TAO address, timing out at block 40: the machine tests' and the benchmark's swap. */
export const SAMPLE_SWAP_TERMS: SwapTerms = {
  contract: 'ink',
  swapId: '1',
  miner: 'm',
  sourceChain: 'btc',
  destChain: 'tao',
  sourceAmount: '100',
  destAmount: '100',
  collateralAmount: '100',
  hub: 'tao',
  userDestAddress: '5x',
  senderPin: '',
  sourceTxHash: 's',
  userSourceAddress: 'bc1quser',
  minerSourceAddress: 'bc1qminer',
  sourceTxBlock: 7,
  initiatedAt: 1,
  timeoutAt: 40,
  maxExtendAt: null,
};

/** A job with a lock of 1,000 expiring at 5,000: the machine tests' and the benchmark's job. */
export const SAMPLE_JOB_TERMS: JobTerms = {
  jobId: `0x${'1'.padStart(64, '0')}`,
  chain: 'sepolia',
  escrow: '0xescrow',
  token: '0xtoken',
  payer: '0xpayer',
  payee: '0xpayee',
  lock: { amount: '1000', expiry: 5_000 },
};

/** The deposit check's answer for a swap whose source tx is 's', as the Verifying state records it. */
export const SAMPLE_DEPOSIT_VERIFIED = {
  type: 'DEPOSIT_VERIFIED',
  deposit: {
    verdict: 'verified',
    reason: null,
    txHash: 's',
    block: 1,
    amountSeen: '100',
    senderSeen: 'u',
    confirmations: 2,
    required: 2,
  },
} as const satisfies SwapEvent;
