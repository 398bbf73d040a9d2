/**
 * A Chromium for the visual tests, found, never installed: tests never install system packages
 * (CI installs Debian's chromium in .ci/run before `npm test`). CHROMIUM_PATH names one;
 * otherwise Debian's /usr/bin/chromium is used if present. Where there is none, the visual
 * tests are skipped and say so in the test output.
 */
import { accessSync, constants, statSync } from 'node:fs';

export const DEBIAN_CHROMIUM = '/usr/bin/chromium';

export type ChromiumLookup = { readonly path: string } | { readonly missing: string };

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * CHROMIUM_PATH if set (it must then be an executable file: a wrong value is an error, not a
 * reason to skip), else /usr/bin/chromium, else why there is none.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): ChromiumLookup {
  const asked = env.CHROMIUM_PATH;
  if (asked !== undefined && asked !== '') {
    if (!executable(asked)) throw new Error(`CHROMIUM_PATH=${asked} is not an executable file`);
    return { path: asked };
  }
  if (executable(DEBIAN_CHROMIUM)) return { path: DEBIAN_CHROMIUM };
  return {
    missing: `no browser: ${DEBIAN_CHROMIUM} is absent and CHROMIUM_PATH is not set (apt-get install chromium, or point CHROMIUM_PATH at one)`,
  };
}

/** The flags this machine's closed network needs (no background connections). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
