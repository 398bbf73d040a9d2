/**
 * Accounts the Solana tests start from, made the way a miner or an issuer would make them:
 * transactions through the served node, executed by the real programs in LiteSVM (a funded
 * payer, durable nonce accounts it is the authority of, a legacy SPL mint with a freeze
 * authority, token accounts, freezes). Only the first airdrop is outside any transaction.
 */
import {
  appendTransactionMessageInstructions,
  createTransactionMessage,
  generateKeyPairSigner,
  lamports,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  type Address,
  type Blockhash,
  type Instruction,
  type KeyPairSigner,
  type Transaction,
} from '@solana/kit';
import {
  getAdvanceNonceAccountInstruction,
  getCreateAccountInstruction,
  getInitializeNonceAccountInstruction,
  getNonceSize,
  SYSTEM_PROGRAM_ADDRESS,
} from '@solana-program/system';
import {
  findAssociatedTokenPda,
  getCreateAssociatedTokenIdempotentInstruction,
  getFreezeAccountInstruction,
  getInitializeMint2Instruction,
  getMintSize,
  getMintToCheckedInstruction,
  getThawAccountInstruction,
  getTokenDecoder,
  TOKEN_PROGRAM_ADDRESS,
} from '@solana-program/token';
import type { SolanaTestNode } from './litesvmRpc.ts';

/** Blocks that take a transaction from the pool to `finalized` on the default chain (depth 3). */
export const TO_FINALIZED = 4;

export class SolanaFixture {
  constructor(readonly node: SolanaTestNode) {}

  get chain() {
    return this.node.chain;
  }

  /** A new key with `sol` lamports, finalized (outside any transaction: test setup). */
  async fundedKey(sol: bigint): Promise<KeyPairSigner> {
    const key = await generateKeyPairSigner();
    this.chain.change(key.address, (svm) => svm.airdrop(key.address, lamports(sol)));
    this.chain.produceBlocks(TO_FINALIZED);
    return key;
  }

  /** Signs `instructions` with `payer` against the newest blockhash, includes them and waits for finality. */
  async run(payer: KeyPairSigner, instructions: readonly Instruction[]): Promise<string> {
    const tx = await this.build(payer, instructions);
    const signature = this.chain.submit(tx);
    this.chain.produceBlocks(TO_FINALIZED);
    const status = this.chain.status(signature, 'finalized');
    if (status === null)
      throw new Error(`fixture transaction ${signature} was dropped: ${JSON.stringify(this.chain.dropped.at(-1))}`);
    if (status.err !== null) throw new Error(`fixture transaction ${signature} failed: ${JSON.stringify(status.err)}`);
    return signature;
  }

  async build(payer: KeyPairSigner, instructions: readonly Instruction[]): Promise<Transaction> {
    const { blockhash, lastValidBlockHeight } = this.chain.latestBlockhash('processed');
    return pipe(
      createTransactionMessage({ version: 'legacy' }),
      (m) => setTransactionMessageFeePayerSigner(payer, m),
      (m) =>
        setTransactionMessageLifetimeUsingBlockhash({ blockhash: blockhash as Blockhash, lastValidBlockHeight }, m),
      (m) => appendTransactionMessageInstructions(instructions, m),
      (m) => signTransactionMessageWithSigners(m),
    );
  }

  /** Durable nonce accounts whose authority is `authority`, funded by it. */
  async nonceAccounts(authority: KeyPairSigner, count: number): Promise<Address[]> {
    const space = getNonceSize();
    const rent = this.chain.svm.minimumBalanceForRentExemption(BigInt(space));
    const made: Address[] = [];
    for (let i = 0; i < count; i++) {
      const account = await generateKeyPairSigner();
      await this.run(authority, [
        getCreateAccountInstruction({
          payer: authority,
          newAccount: account,
          lamports: rent,
          space,
          programAddress: SYSTEM_PROGRAM_ADDRESS,
        }),
        getInitializeNonceAccountInstruction({ nonceAccount: account.address, nonceAuthority: authority.address }),
      ]);
      made.push(account.address);
    }
    return made;
  }

  /** Advances a nonce account outside any payout (what an operator's `solana new-nonce` does). */
  async advanceNonce(authority: KeyPairSigner, account: Address): Promise<void> {
    await this.run(authority, [
      getAdvanceNonceAccountInstruction({ nonceAccount: account, nonceAuthority: authority }),
    ]);
  }

  /** A legacy SPL mint whose mint and freeze authority is `issuer`. */
  async mint(issuer: KeyPairSigner, decimals: number): Promise<Address> {
    const mint = await generateKeyPairSigner();
    const rent = this.chain.svm.minimumBalanceForRentExemption(BigInt(getMintSize()));
    await this.run(issuer, [
      getCreateAccountInstruction({
        payer: issuer,
        newAccount: mint,
        lamports: rent,
        space: getMintSize(),
        programAddress: TOKEN_PROGRAM_ADDRESS,
      }),
      getInitializeMint2Instruction({
        mint: mint.address,
        decimals,
        mintAuthority: issuer.address,
        freezeAuthority: issuer.address,
      }),
    ]);
    return mint.address;
  }

  async ata(owner: Address, mint: Address): Promise<Address> {
    return (await findAssociatedTokenPda({ owner, tokenProgram: TOKEN_PROGRAM_ADDRESS, mint }))[0];
  }

  /** Creates `owner`'s token account (paid by the issuer) and mints `amount` into it. */
  async mintTo(
    issuer: KeyPairSigner,
    mint: Address,
    owner: Address,
    amount: bigint,
    decimals: number,
  ): Promise<Address> {
    const ata = await this.ata(owner, mint);
    const instructions: Instruction[] = [
      getCreateAssociatedTokenIdempotentInstruction({ payer: issuer, ata, owner, mint }),
    ];
    if (amount > 0n)
      instructions.push(getMintToCheckedInstruction({ mint, token: ata, mintAuthority: issuer, amount, decimals }));
    await this.run(issuer, instructions);
    return ata;
  }

  async freeze(issuer: KeyPairSigner, mint: Address, account: Address): Promise<void> {
    await this.run(issuer, [getFreezeAccountInstruction({ account, mint, owner: issuer })]);
  }

  async thaw(issuer: KeyPairSigner, mint: Address, account: Address): Promise<void> {
    await this.run(issuer, [getThawAccountInstruction({ account, mint, owner: issuer })]);
  }

  /** Lamports at a commitment (0 for an account that does not exist). */
  lamports(address: Address, commitment: 'processed' | 'finalized' = 'finalized'): bigint {
    return this.chain.account(address, commitment)?.lamports ?? 0n;
  }

  /** A token account's amount, or null when it does not exist. */
  tokens(account: Address, commitment: 'processed' | 'finalized' = 'finalized'): bigint | null {
    const encoded = this.chain.account(account, commitment);
    return encoded === null ? null : getTokenDecoder().decode(encoded.data).amount;
  }
}
