/**
 * Where keys come from: a file only its owner can read, or an environment variable. Never the
 * configuration file itself. A secret's value never appears in an error message: problems name
 * the file or the variable, and what to do.
 */
import { readFileSync, statSync } from 'node:fs';
import { isBitcoinWif, isEvmPrivateKey, isSolanaKeypair, isSubstrateSecret } from '../chains/keys.ts';
import { KeyUnusable } from '../errors.ts';

export type SecretSource = { readonly file: string } | { readonly env: string };

/** A loaded secret. Holds the value out of reach of JSON.stringify and util.inspect. */
export class Secret {
  readonly #value: string;

  constructor(
    value: string,
    /** "file /etc/settle/hotkey" or "environment variable SETTLE_HOTKEY": safe to print. */
    readonly origin: string,
  ) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return `[secret from ${this.origin}]`;
  }

  toString(): string {
    return this.toJSON();
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toJSON();
  }
}

export function describeSource(source: SecretSource): string {
  return 'file' in source ? `file ${source.file}` : `environment variable ${source.env}`;
}

/** Why the source cannot give a key, or null. Checks the file's mode: 0600 or stricter. */
export function secretSourceProblem(source: SecretSource, env: NodeJS.ProcessEnv = process.env): string | null {
  if ('env' in source) {
    const value = env[source.env];
    if (value === undefined || value.trim() === '') return `environment variable ${source.env} is not set`;
    return null;
  }
  let mode: number;
  try {
    const stat = statSync(source.file);
    if (!stat.isFile()) return `key file ${source.file} is not a regular file`;
    mode = stat.mode & 0o777;
  } catch (error) {
    return `key file ${source.file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
  }
  if ((mode & 0o077) !== 0) {
    return `key file ${source.file} has mode 0${mode.toString(8)}; it must be readable by its owner only (chmod 600 ${source.file})`;
  }
  try {
    if (readFileSync(source.file, 'utf8').trim() === '') return `key file ${source.file} is empty`;
  } catch (error) {
    return `key file ${source.file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
  }
  return null;
}

export function loadSecret(source: SecretSource, env: NodeJS.ProcessEnv = process.env): Secret {
  const problem = secretSourceProblem(source, env);
  if (problem !== null) throw new KeyUnusable(problem);
  const value = 'env' in source ? env[source.env]! : readFileSync(source.file, 'utf8');
  return new Secret(value.trim(), describeSource(source));
}

export type KeyKind = 'substrate' | 'evm' | 'solana' | 'bitcoin';

export const KEY_FORMS: Readonly<Record<KeyKind, string>> = {
  substrate: 'a Substrate secret (a mnemonic, a 0x seed, or a //derivation URI)',
  evm: 'an EVM private key (0x and 64 hex digits)',
  solana: "a Solana keypair (the Solana CLI's JSON array of 64 bytes)",
  bitcoin: 'a Bitcoin private key in WIF',
};

const KEY_CHECKS: Readonly<Record<KeyKind, (value: string) => boolean>> = {
  substrate: isSubstrateSecret,
  evm: isEvmPrivateKey,
  solana: isSolanaKeypair,
  bitcoin: isBitcoinWif,
};

/** Why the source's value is not a key of this kind, or null; never quotes the value. */
export function secretContentProblem(
  source: SecretSource,
  kind: KeyKind,
  env: NodeJS.ProcessEnv = process.env,
): string | null {
  const secret = loadSecret(source, env);
  return KEY_CHECKS[kind](secret.reveal()) ? null : `${secret.origin} does not hold ${KEY_FORMS[kind]}`;
}
