/**
 * A deployed Escrow and test token on the local EVM node, funded payers, locks on demand, and
 * the adapter pieces (journal, sender, EvmEscrow) for the payee.
 */
import { type Contract, ContractFactory, type Wallet } from 'ethers';
import type { JobTerms } from '../../machines/index.ts';
import { EvmEscrow, jobIdHex } from '../../src/chains/evm/evmEscrow.ts';
import { EvmTxSender, type EvmTxSenderOptions } from '../../src/chains/evm/evmTxSender.ts';
import { TxJournal } from '../../src/chains/evm/txJournal.ts';
import type { Logger } from '../../src/host/ports.ts';
import { compileContracts } from './compileContracts.ts';
import type { EvmNode } from './evmNode.ts';

export const CHAIN = 'localevm';
const CHAIN_ID = 31337n;

export interface EscrowFixture {
  readonly node: EvmNode;
  readonly escrow: Contract;
  readonly token: Contract;
  readonly payee: Wallet;
  readonly payers: readonly Wallet[];
  readonly deployBlock: number;
  /** Creates locks (as the payee, in one createLocks) and returns their terms. */
  lock(count: number, options?: { payer?: number; amount?: bigint; expirySeconds?: number }): Promise<JobTerms[]>;
  /** The payee's adapter stack over `dir` (its transaction journal lives there). */
  adapter(
    dir: string,
    log: Logger,
    extra?: Partial<EvmTxSenderOptions>,
  ): Promise<{ escrow: EvmEscrow; sender: EvmTxSender; journal: TxJournal }>;
  chainTime(): Promise<number>;
}

let nextJobId = 1n;

export async function deployEscrow(node: EvmNode): Promise<EscrowFixture> {
  const compiled = compileContracts();
  const deployer = node.wallet(0);
  const payee = node.wallet(1);
  const payers = [node.wallet(2), node.wallet(3)];
  const token = (await (
    await new ContractFactory(compiled.TestToken.abi as never, compiled.TestToken.bytecode, deployer).deploy(18)
  ).waitForDeployment()) as Contract;
  const escrow = (await (
    await new ContractFactory(compiled.Escrow.abi as never, compiled.Escrow.bytecode, deployer).deploy()
  ).waitForDeployment()) as Contract;
  const deployBlock = await node.provider.getBlockNumber();
  const escrowAddress = await escrow.getAddress();
  const tokenAddress = await token.getAddress();
  const funding = 10n ** 30n;
  for (const payer of payers) {
    await (await (token.connect(deployer) as Contract).getFunction('mint')(payer.address, funding)).wait();
    await (await (token.connect(payer) as Contract).getFunction('approve')(escrowAddress, funding)).wait();
    await (await (escrow.connect(payer) as Contract).getFunction('deposit')(tokenAddress, funding)).wait();
    await (
      await (escrow.connect(payer) as Contract).getFunction('authorize')(
        tokenAddress,
        payee.address,
        funding,
        10n ** 9n,
        100_000n,
      )
    ).wait();
  }
  const chainTime = async (): Promise<number> => (await node.provider.getBlock('latest'))!.timestamp;
  return {
    node,
    escrow,
    token,
    payee,
    payers,
    deployBlock,
    chainTime,
    lock: async (count, options = {}) => {
      const payer = payers[options.payer ?? 0]!;
      const amount = options.amount ?? 10n ** 18n;
      const expiry = BigInt(options.expirySeconds ?? 86_400);
      const ids = Array.from({ length: count }, () => nextJobId++);
      // createLocks of more than ~100 locks would not fit in a block.
      for (let start = 0; start < ids.length; start += 50) {
        const chunk = ids.slice(start, start + 50);
        await (
          await (escrow.connect(payee) as Contract).getFunction('createLocks')(
            chunk,
            chunk.map(() => tokenAddress),
            chunk.map(() => payer.address),
            chunk.map(() => amount),
            chunk.map(() => expiry),
          )
        ).wait();
      }
      const created = await chainTime();
      return ids.map((id) => ({
        jobId: jobIdHex(id),
        chain: CHAIN,
        escrow: escrowAddress,
        token: tokenAddress,
        payer: payer.address,
        payee: payee.address,
        lock: { amount: amount.toString(), expiry: created + Number(expiry) },
      }));
    },
    adapter: async (dir, log, extra = {}) => {
      const journal = await TxJournal.open(dir, CHAIN, payee.address, CHAIN_ID);
      const sender = new EvmTxSender({
        wallet: payee,
        provider: node.provider,
        journal,
        chainId: CHAIN_ID,
        log,
        pollMs: 50,
        ...extra,
      });
      const evmEscrow = new EvmEscrow({
        chain: CHAIN,
        address: escrowAddress,
        provider: node.provider,
        sender,
        fromBlock: deployBlock,
        log,
      });
      return { escrow: evmEscrow, sender, journal };
    },
  };
}
