/** Substrate's development accounts (//Alice...), sr25519 in Subtensor's SS58 format. */
import { Keyring } from '@polkadot/keyring';
import type { KeyringPair } from '@polkadot/keyring/types';
import { cryptoWaitReady } from '@polkadot/util-crypto';

export interface DevAccounts {
  readonly alice: KeyringPair;
  readonly bob: KeyringPair;
  readonly charlie: KeyringPair;
  readonly dave: KeyringPair;
}

export async function devAccounts(): Promise<DevAccounts> {
  await cryptoWaitReady();
  const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });
  const [alice, bob, charlie, dave] = ['//Alice', '//Bob', '//Charlie', '//Dave'].map((uri) => keyring.addFromUri(uri));
  return { alice: alice!, bob: bob!, charlie: charlie!, dave: dave! };
}
