import type { JobTerms } from '../../machines/index.ts';

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
