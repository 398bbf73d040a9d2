/** The Clock port on an EVM chain: the latest block's timestamp, as the escrow judges expiry. */
import type { JsonRpcProvider } from 'ethers';
import type { Clock } from '../../host/ports.ts';

export class EvmClock implements Clock {
  constructor(private readonly provider: JsonRpcProvider) {}

  async now(): Promise<number> {
    const block = await this.provider.getBlock('latest');
    if (block === null) throw new Error('the node returned no latest block');
    return block.timestamp;
  }
}
