/**
 * Ocean's published Escrow on the local EVM node: the bytecode of @oceanprotocol/contracts'
 * Escrow.json, deployed with the package's own FactoryRouter (its getOPCFee and
 * getOPCCollector are what the Escrow asks on every claim), two test tokens (one the router
 * approves: fee 0.1% by default; one it does not: 0.2%), funded and authorizing payers, locks
 * on demand, and the adapter pieces (journal, sender, EvmEscrow) for the payee.
 */
import { createRequire } from 'node:module';
import { Contract, ContractFactory, type InterfaceAbi, type Wallet } from 'ethers';
import type { JobTerms } from '../../machines/index.ts';
import { ESCROW_ARTIFACT } from '../../src/chains/evm/escrowAbi.ts';
import { EvmEscrow, jobIdHex, type ClaimMethod } from '../../src/chains/evm/evmEscrow.ts';
import { EvmTxSender, type EvmTxSenderOptions } from '../../src/chains/evm/evmTxSender.ts';
import { TxJournal } from '../../src/chains/evm/txJournal.ts';
import type { Logger } from '../../src/host/ports.ts';
import { compileContracts } from './compileContracts.ts';
import type { EvmNode } from './evmNode.ts';

export const CHAIN = 'localevm';
const CHAIN_ID = 31337n; // the adapter() stack's; a node started on another chain id builds its own

const require = createRequire(import.meta.url);
/** The package's FactoryRouter: the OPC fee schedule the Escrow reads at every claim. */
export const ROUTER_ARTIFACT =
  require('@oceanprotocol/contracts/artifacts/contracts/pools/FactoryRouter.sol/FactoryRouter.json') as {
    abi: InterfaceAbi;
    bytecode: string;
  };

/** Fee rates as the router states them: 1e18 = 100%. */
export const FEE_0_1_PERCENT = 10n ** 15n;
export const FEE_0_2_PERCENT = 2n * 10n ** 15n;

export interface EscrowFixture {
  readonly node: EvmNode;
  readonly escrow: Contract;
  readonly router: Contract;
  /** Approved by the router (the "Ocean token"): swapOceanFee applies, 0.1% at deployment. */
  readonly token: Contract;
  /** Not approved: swapNonOceanFee applies, 0.2% at deployment. */
  readonly otherToken: Contract;
  /** Where the router sends the OPC fee (the Escrow was deployed without a collector of its own). */
  readonly collector: string;
  readonly payee: Wallet;
  readonly payers: readonly Wallet[];
  readonly deployBlock: number;
  /** The router's fee rates (1e18 = 100%) for the approved token and for any other. */
  setFees(approved: bigint, other: bigint): Promise<void>;
  /** Creates locks (as the payee, in one createLocks) and returns their terms. */
  lock(
    count: number,
    options?: { payer?: number; amount?: bigint; expirySeconds?: number; token?: Contract },
  ): Promise<JobTerms[]>;
  /** The payee's adapter stack over `dir` (its transaction journal lives there). */
  adapter(
    dir: string,
    log: Logger,
    extra?: Partial<EvmTxSenderOptions>,
    claimMethod?: ClaimMethod,
  ): Promise<{ escrow: EvmEscrow; sender: EvmTxSender; journal: TxJournal }>;
  /** An ERC-20 balance. */
  balanceOf(token: Contract, owner: string): Promise<bigint>;
  chainTime(): Promise<number>;
}

let nextJobId = 1n;

async function fundPayers(
  node: EvmNode,
  escrow: Contract,
  tokens: readonly Contract[],
  payers: readonly Wallet[],
  payee: string,
): Promise<void> {
  const deployer = node.wallet(0);
  const funding = 10n ** 30n;
  const escrowAddress = await escrow.getAddress();
  for (const token of tokens) {
    const tokenAddress = await token.getAddress();
    for (const payer of payers) {
      await (await (token.connect(deployer) as Contract).getFunction('mint')(payer.address, funding)).wait();
      await (await (token.connect(payer) as Contract).getFunction('approve')(escrowAddress, funding)).wait();
      await (await (escrow.connect(payer) as Contract).getFunction('deposit')(tokenAddress, funding)).wait();
      await (
        await (escrow.connect(payer) as Contract).getFunction('authorize')(
          tokenAddress,
          payee,
          funding,
          10n ** 9n,
          100_000n,
        )
      ).wait();
    }
  }
}

/**
 * `at`: run the Escrow at that address instead (hardhat_setCode of the deployed code, with the
 * router baked in as its immutable), e.g. the address the package's address book gives a
 * network, for a daemon configured by network name.
 */
export async function deployEscrow(node: EvmNode, options: { at?: string } = {}): Promise<EscrowFixture> {
  const compiled = compileContracts();
  const deployer = node.wallet(0);
  const payee = node.wallet(1);
  const payers = [node.wallet(2), node.wallet(3)];
  const collector = node.wallet(6).address;
  const deployToken = async (): Promise<Contract> =>
    (await (
      await new ContractFactory(compiled.TestToken.abi as never, compiled.TestToken.bytecode, deployer).deploy(18)
    ).waitForDeployment()) as Contract;
  const token = await deployToken();
  const otherToken = await deployToken();
  // bpoolTemplate must be non-zero and is never used by the Escrow: any address will do.
  const router = (await (
    await new ContractFactory(ROUTER_ARTIFACT.abi, ROUTER_ARTIFACT.bytecode, deployer).deploy(
      deployer.address,
      await token.getAddress(),
      collector,
      collector,
      [],
    )
  ).waitForDeployment()) as Contract;
  let escrow = (await (
    await new ContractFactory(ESCROW_ARTIFACT.abi, ESCROW_ARTIFACT.bytecode, deployer).deploy(
      await router.getAddress(),
      `0x${'00'.repeat(20)}`,
    )
  ).waitForDeployment()) as Contract;
  if (options.at !== undefined) {
    // The published runtime code, immutables included; its storage starts empty, as at deployment
    // (ReentrancyGuard's status 0 counts as not entered).
    await node.provider.send('hardhat_setCode', [options.at, await node.provider.getCode(await escrow.getAddress())]);
    escrow = new Contract(options.at, ESCROW_ARTIFACT.abi, node.provider);
  }
  const deployBlock = await node.provider.getBlockNumber();
  const escrowAddress = await escrow.getAddress();
  await fundPayers(node, escrow, [token, otherToken], payers, payee.address);
  const chainTime = async (): Promise<number> => (await node.provider.getBlock('latest'))!.timestamp;
  return {
    node,
    escrow,
    router,
    token,
    otherToken,
    collector,
    payee,
    payers,
    deployBlock,
    chainTime,
    setFees: async (approved, other) => {
      await (await (router.connect(deployer) as Contract).getFunction('updateOPCFee')(approved, other, 0n, 0n)).wait();
    },
    balanceOf: async (t, owner) => (await t.getFunction('balanceOf').staticCall(owner)) as bigint,
    lock: async (count, options = {}) => {
      const payer = payers[options.payer ?? 0]!;
      const amount = options.amount ?? 10n ** 18n;
      const expiry = BigInt(options.expirySeconds ?? 86_400);
      const tokenAddress = await (options.token ?? token).getAddress();
      const ids = Array.from({ length: count }, () => nextJobId++);
      // createLocks of many locks would not fit in a block.
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
    adapter: async (dir, log, extra = {}, claimMethod = 'claimLocksAndWithdraw') => {
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
        claimMethod,
      });
      return { escrow: evmEscrow, sender, journal };
    },
  };
}
