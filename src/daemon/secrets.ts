/**
 * Where keys come from: a file only its owner can read, or an environment variable. Never the
 * configuration file itself. A secret's value never appears in an error message: problems name
 * the file or the variable, and what to do.
 */
import { readFileSync, statSync } from 'node:fs';
import { isHex } from '@polkadot/util';
import { keyExtractSuri, mnemonicValidate } from '@polkadot/util-crypto';
import { Wallet } from 'ethers';

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
  if (problem !== null) throw new Error(problem);
  const value = 'env' in source ? env[source.env]! : readFileSync(source.file, 'utf8');
  return new Secret(value.trim(), describeSource(source));
}

/**
 * A mnemonic (BIP39, 12 to 24 words), a 0x seed of 32 bytes, or a //derivation of the
 * development phrase, each with an optional derivation path. @polkadot would also take any
 * short phrase as a space-padded raw seed: a typo would then start a daemon on an account
 * nobody registered, which never sees a swap.
 */
export function isSubstrateSecret(suri: string): boolean {
  if (suri.startsWith('/')) return true;
  let phrase: string;
  try {
    phrase = keyExtractSuri(suri).phrase;
  } catch {
    return false;
  }
  return isHex(phrase, 256) || mnemonicValidate(phrase);
}

export function isEvmPrivateKey(value: string): boolean {
  if (!/^0x[0-9a-fA-F]{64}$/.test(value)) return false;
  try {
    return new Wallet(value).address.length === 42;
  } catch {
    return false; // zero, or not below the curve order
  }
}

export type KeyKind = 'substrate' | 'evm';

export const KEY_FORMS: Readonly<Record<KeyKind, string>> = {
  substrate: 'a Substrate secret (a mnemonic, a 0x seed, or a //derivation URI)',
  evm: 'an EVM private key (0x and 64 hex digits)',
};

/** Why the source's value is not a key of this kind, or null; never quotes the value. */
export function secretContentProblem(source: SecretSource, kind: KeyKind, env: NodeJS.ProcessEnv = process.env): string | null {
  const secret = loadSecret(source, env);
  const valid = kind === 'substrate' ? isSubstrateSecret(secret.reveal()) : isEvmPrivateKey(secret.reveal());
  return valid ? null : `${secret.origin} does not hold ${KEY_FORMS[kind]}`;
}
