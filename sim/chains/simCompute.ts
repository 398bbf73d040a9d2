/** The compute engine's job store and the escrow chain's clock, over the simulated world. */
import type { Clock, JobObservation, JobSource } from '../../src/host/ports.ts';
import type { World } from '../world.ts';

export class SimCompute implements JobSource, Clock {
  constructor(private readonly world: World) {}

  async now(): Promise<number> {
    return this.world.state.escrow.time;
  }

  async poll(): Promise<JobObservation[]> {
    const time = this.world.state.escrow.time;
    return Object.values(this.world.state.compute.jobs).map((job) => ({
      terms: job.terms,
      phase: time >= job.publishedAt ? 'published' : time >= job.endsAt ? 'ended' : 'running',
      cost: time >= job.endsAt ? job.cost : null,
    }));
  }
}
