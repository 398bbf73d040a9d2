/**
 * Job settlement in the simulator: an Ocean-style escrow, the compute engine that runs the
 * jobs (and whose clock is the escrow chain's), payers who cancel expired locks, the script
 * creating jobs and the job invariants. State: `payee`, `escrow`, `compute` of the world.
 */
import { INVARIANT } from '../../machines/invariants.ts';
import { JOB_KIND, JOB_MACHINE_NAME, jobMachineId, jobSettlement } from '../../machines/index.ts';
import type { ClaimScheduleOptions } from '../../src/host/claimSchedule.ts';
import { jobSettlementObligation } from '../../src/obligations/jobSettlement/index.ts';
import { advanceJobChains, jobScript } from '../advance.ts';
import { SimCompute } from '../chains/simCompute.ts';
import { SimEscrow } from '../chains/simEscrow.ts';
import { faultyJobPorts, type SimJobPorts } from '../faultyPorts.ts';
import { recordStatesOf, type SimModule } from '../simModule.ts';
import { DEFAULT_FEE_RATE, GENESIS_TIME, PAYEE, type WorldState } from '../world.ts';
import { jobInvariants, jobOutcome } from './productInvariants.ts';

/** The simulator's claim schedule: two minutes of escrow-chain time (10 blocks), first after 2. */
export const SIM_CLAIM_SCHEDULE: ClaimScheduleOptions = { intervalSec: 120, firstRunDelaySec: 24 };

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export const jobModule: SimModule = {
  kind: JOB_KIND,
  machineName: JOB_MACHINE_NAME,
  recordStates: recordStatesOf(jobSettlement),
  init(world) {
    const state = world.state as Mutable<WorldState>;
    state.payee = PAYEE;
    state.escrow = {
      chain: 'sim-evm',
      address: `0x${'e5'.repeat(20)}`,
      token: `0x${'70'.repeat(20)}`,
      time: GENESIS_TIME,
      txCount: 0,
      locks: [],
      events: [],
      funds: { feeRate: DEFAULT_FEE_RATE.toString(), collected: '0', available: {}, withdrawn: {} },
    };
    state.compute = { jobs: {}, created: 0 };
  },
  advance: advanceJobChains,
  script: (world) => jobScript(world, world.planned(JOB_KIND)),
  scriptDone: (world) => world.state.compute.created >= world.planned(JOB_KIND),
  applyFaults: () => undefined,
  connect(world, net) {
    const escrow = new SimEscrow(world);
    const compute = new SimCompute(world);
    const ports: SimJobPorts = { escrows: new Map([[escrow.chain, escrow]]), clock: compute, jobSource: compute };
    const { escrows, clock, jobSource } = net === null ? ports : faultyJobPorts(ports, net, world);
    return {
      obligation: (log) =>
        jobSettlementObligation({ escrows, clock, jobSource, log, claimSchedule: SIM_CLAIM_SCHEDULE }),
    };
  },
  invariantNames: [INVARIANT.noLostClaim, INVARIANT.noDoubleClaim, INVARIANT.claimRecordedAsPaid],
  invariants: (world, outcome) => jobInvariants(world.state, outcome),
  outcome: (world) => jobOutcome(world.state),
  deadlineBound(world) {
    const out = new Set<string>();
    const chain = world.state.escrow.chain;
    for (const e of world.state.escrow.events)
      if (e.kind === 'Canceled') out.add(jobMachineId({ chain, jobId: e.jobId }));
    return out;
  },
  injected: (world) => ({ 'payer-cancel': world.state.observations.hostile.shortLocks }),
  allSeen: (world, placeOf) =>
    Object.values(world.state.compute.jobs).every((job) => placeOf(jobMachineId(job.terms)) !== null),
};
