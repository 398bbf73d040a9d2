/**
 * Prices as ocean-node 3.2.0 computes them: the environment matched by the id ocean-node gives
 * its jobs (config file and DOCKER_COMPUTE_ENVIRONMENTS forms), the duration rules and the
 * cost in the token's smallest unit.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  billedSeconds,
  costOf,
  feeOf,
  loadEnvironments,
  OceanNodeConfigError,
  type JobForPricing,
} from '../../src/daemon/oceanNodePricing.ts';
import { writeConfig } from '../support/oceanNodeScenario.ts';
import { tempDir } from '../support/simFixture.ts';

const TOKEN = `0x${'7a'.repeat(20)}`;
const sha = (text: string) => `0x${createHash('sha256').update(text).digest('hex')}`;

const job = (over: Partial<JobForPricing> = {}): JobForPricing => ({
  environment: null,
  chainId: 8453,
  token: TOKEN,
  maxJobDuration: 3_600,
  resources: [
    { id: 'cpu', amount: 4 },
    { id: 'ram', amount: 2 },
  ],
  algoStartTimestamp: '1700000000.25',
  algoStopTimestamp: '1700000130.75',
  ...over,
});

describe("ocean-node's prices", () => {
  it('matches the environment by the hash of its processed fees, as written in DOCKER_COMPUTE_ENVIRONMENTS (no defaults, keys as written)', () => {
    // prices before feeToken, no id: hashed as written, with the environment's index.
    const fees = {
      '8453': [
        {
          prices: [
            { price: 0.1, id: 'cpu' },
            { id: 'ram', price: 0.02 },
          ],
          feeToken: TOKEN,
        },
      ],
      '1': [{ feeToken: TOKEN, prices: [{ id: 'cpu', price: 9 }] }],
    };
    const environments = loadEnvironments({
      dockerComputeEnvironments: JSON.stringify([{ socketPath: '/s', environments: [{ fees: {} }, { fees }] }]),
      supportedNetworks: JSON.stringify({ '8453': {} }),
    });
    // Chain 1 is not supported: dropped before hashing, as ocean-node does.
    const processed = { '8453': fees['8453'] };
    const idHash = sha(`${JSON.stringify(processed)}1`);
    expect(environments[1]!.idHash).toBe(idHash);
    expect(environments[1]!.minJobDuration).toBeNull();
    const found = feeOf(environments, job({ environment: `0xcluster-${idHash}` }));
    expect(typeof found).not.toBe('string');
    // 131 s billed as 3 minutes: (0.1 x 4 + 0.02 x 2) x 3 = 1.32 tokens, in ocean-node's
    // floating point 1.3200000000000003: the very wei ocean-node itself would claim.
    const { cost, seconds } = costOf(job(), environments[1]!, (found as Exclude<typeof found, string>).fee, 18);
    expect(seconds).toBe(131);
    expect(cost).toBe(1_320_000_000_000_000_300n);
  });

  it('orders a config file environment as its schema does and defaults minJobDuration to 60', () => {
    const path = join(tempDir('settle-pricing-'), 'config.json');
    writeConfig(path, {
      supportedNetworks: { '8453': {} },
      dockerComputeEnvironments: [
        { environments: [{ id: 'gpu', fees: { '8453': [{ prices: [{ price: 1, id: 'gpu' }], feeToken: TOKEN }] } }] },
      ],
    });
    const [env] = loadEnvironments({ configFile: path });
    expect(env!.idHash).toBe(
      sha(`${JSON.stringify({ '8453': [{ feeToken: TOKEN, prices: [{ id: 'gpu', price: 1 }] }] })}gpu`),
    );
    expect(env!.minJobDuration).toBe(60);
    expect(billedSeconds(job({ algoStopTimestamp: '1700000001' }), env!)).toBe(60);
    expect(billedSeconds(job({ algoStopTimestamp: '1800000000' }), env!)).toBe(3_600);
  });

  it('gives a reason, never a price, for an unknown environment or token; refuses unreadable configuration', () => {
    const environments = loadEnvironments({
      dockerComputeEnvironments: JSON.stringify([
        { environments: [{ fees: { '8453': [{ feeToken: TOKEN, prices: [{ id: 'cpu', price: 1 }] }] } }] },
      ]),
      supportedNetworks: '{"8453":{}}',
    });
    expect(feeOf(environments, job({ environment: 'x-0xabc' }))).toMatch(
      /not among ocean-node's configured compute environments/,
    );
    expect(
      feeOf(
        environments,
        job({ environment: `c-${environments[0]!.idHash}`, token: TOKEN.toUpperCase().replace('0X', '0x') }),
      ),
    ).toMatch(/has no price in token/);
    expect(() => loadEnvironments({ dockerComputeEnvironments: '[{' })).toThrow(OceanNodeConfigError);
    expect(() => loadEnvironments({ configFile: '/nonexistent/config.json' })).toThrow(/cannot read: ENOENT/);
  });

  it('turns tiny costs into exact smallest units where ocean-node would give up (exponent notation)', () => {
    const [env] = loadEnvironments({
      dockerComputeEnvironments: JSON.stringify([
        { environments: [{ fees: { '8453': [{ feeToken: TOKEN, prices: [{ id: 'cpu', price: 1e-9 }] }] } }] },
      ]),
      supportedNetworks: '{"8453":{}}',
    });
    const fee = env!.fees!['8453']![0]!;
    expect(costOf(job({ resources: [{ id: 'cpu', amount: 1 }] }), env!, fee, 18).cost).toBe(3_000_000_000n);
  });
});
