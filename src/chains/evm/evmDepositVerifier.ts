/**
 * The deposit check on an EVM chain (allways/assets/evm_coin.py and erc20.py as the reference
 * miner runs them), in the chain's coin or one pinned ERC-20 token:
 * - coin: the transaction's top-level `to` is the recipient and its `value` the credit (internal
 *   transfers do not count); the sender is `tx.from`;
 * - token: the receipt's `Transfer` log emitted by the pinned contract to the recipient, its
 *   `data` the credit; the sender is the log's `from` topic, not `tx.from`;
 * - a mined transaction needs receipt status 1; confirmations are `tip - block + 1`, and the
 *   receipt's block must still be the chain's block at that height (else reorganised: a wait).
 * A transaction still in the mempool is judged on its calldata with 0 confirmations.
 *
 * Invariant: a read that fails is a wait (`pending`), never a pass. Holds no state: a crash
 * leaves nothing behind. Also the funds gate's view of an EVM wallet (coin or token balance).
 */
import { Contract, getAddress, id, Interface, type Provider, type TransactionResponse } from 'ethers';
import type { DepositClaim, DepositVerdict, SourceVerifier } from '../../host/sourceVerifier.ts';
import { lowerCaseAddress, readAndJudge, type Sighting } from '../depositRules.ts';

export type EvmDepositAsset = { readonly kind: 'native' } | { readonly kind: 'erc20'; readonly token: string };

const TRANSFER_TOPIC = id('Transfer(address,address,uint256)');
const ERC20 = new Interface([
  'function transfer(address to, uint256 amount) returns (bool)',
  'function balanceOf(address owner) view returns (uint256)',
]);

interface Credit {
  readonly credited: bigint | null;
  readonly sender: string;
}

export class EvmDepositVerifier implements SourceVerifier {
  readonly chains: readonly string[];

  constructor(
    private readonly provider: Provider,
    chain: string,
    private readonly asset: EvmDepositAsset,
    private readonly required: number,
  ) {
    this.chains = [chain];
  }

  verify(claim: DepositClaim): Promise<DepositVerdict> {
    return readAndJudge(claim, this.required, () => this.sighting(claim), lowerCaseAddress);
  }

  private async sighting(claim: DepositClaim): Promise<Sighting | null> {
    if (!/^0x[0-9a-fA-F]{64}$/.test(claim.txHash)) return null; // no such transaction can exist
    const tx = await this.provider.getTransaction(claim.txHash);
    if (tx === null) return null;
    const receipt = await this.provider.getTransactionReceipt(claim.txHash);
    if (receipt === null) return { block: null, confirmations: 0, failed: null, ...this.pooledCredit(tx, claim) };
    const recipient = claim.recipient.toLowerCase();
    const credit: Credit =
      this.asset.kind === 'native'
        ? { credited: tx.to?.toLowerCase() === recipient ? tx.value : null, sender: tx.from }
        : logCredit(receipt.logs, this.asset.token, recipient, claim.minAmount);
    const failed = receipt.status === 1 ? null : `reverted (receipt status ${receipt.status})`;
    const [tip, block] = await Promise.all([
      this.provider.getBlockNumber(),
      this.provider.getBlock(receipt.blockNumber),
    ]);
    const base = { ...credit, block: receipt.blockNumber, failed };
    if (block === null || block.hash !== receipt.blockHash)
      return { ...base, confirmations: 0, shortBecause: `deposit block ${receipt.blockHash} was reorganised away` };
    return { ...base, confirmations: Math.max(0, tip - receipt.blockNumber + 1) };
  }

  /** A transaction not yet mined: its own `to`/`value`, or its `transfer(to, amount)` calldata. */
  private pooledCredit(tx: TransactionResponse, claim: DepositClaim): Credit {
    const recipient = claim.recipient.toLowerCase();
    if (this.asset.kind === 'native')
      return { credited: tx.to?.toLowerCase() === recipient ? tx.value : null, sender: tx.from };
    if (tx.to?.toLowerCase() !== this.asset.token.toLowerCase()) return { credited: null, sender: tx.from };
    const call = ERC20.parseTransaction({ data: tx.data });
    if (call?.name !== 'transfer' || String(call.args[0]).toLowerCase() !== recipient)
      return { credited: null, sender: tx.from };
    return { credited: call.args[1] as bigint, sender: tx.from };
  }
}

interface LogLike {
  readonly address: string;
  readonly topics: readonly string[];
  readonly data: string;
}

/**
 * The pinned token's Transfer logs to the recipient: the first one paying at least the claim,
 * else the largest (so a short deposit is reported with what it paid). Sender: its `from` topic.
 */
export function logCredit(logs: readonly LogLike[], token: string, recipient: string, minAmount: bigint): Credit {
  const paying = logs
    .filter(
      (l) =>
        l.address.toLowerCase() === token.toLowerCase() &&
        l.topics.length === 3 &&
        l.topics[0] === TRANSFER_TOPIC &&
        topicAddress(l.topics[2]!) === recipient,
    )
    .map((l) => ({ value: BigInt(l.data === '0x' ? 0 : l.data), sender: topicAddress(l.topics[1]!) }));
  if (paying.length === 0) return { credited: null, sender: '' };
  const enough = paying.find((p) => p.value >= minAmount);
  const chosen = enough ?? paying.reduce((a, b) => (b.value > a.value ? b : a));
  return { credited: chosen.value, sender: chosen.sender };
}

function topicAddress(topic: string): string {
  return getAddress(`0x${topic.slice(-40)}`).toLowerCase();
}

/** The funds gate's view of an EVM wallet: its coin balance, or its balance of the pinned token. */
export async function evmBalance(provider: Provider, asset: EvmDepositAsset, address: string): Promise<bigint> {
  if (asset.kind === 'native') return provider.getBalance(address);
  const token = new Contract(asset.token, ERC20, provider);
  return (await token.getFunction('balanceOf')(address)) as bigint;
}
