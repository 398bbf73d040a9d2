/**
 * The simulator's only source of randomness: a seeded xoroshiro128+ whose state is plain
 * numbers, so a persisted world resumes the very same sequence after a restart.
 */
import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';

export class SimRandom {
  private readonly generator: RandomGenerator;

  private constructor(generator: RandomGenerator) {
    this.generator = generator;
  }

  static fromSeed(seed: number): SimRandom {
    if (!Number.isSafeInteger(seed)) throw new Error(`seed ${seed} is not an integer`);
    return new SimRandom(xoroshiro128plus(seed));
  }

  static fromState(state: readonly number[]): SimRandom {
    return new SimRandom(xoroshiro128plus.fromState(state));
  }

  state(): number[] {
    return [...this.generator.getState()];
  }

  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return unsafeUniformIntDistribution(min, max, this.generator);
  }

  chance(probability: number): boolean {
    return this.int(0, 999_999) < probability * 1_000_000;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(0, items.length - 1)] as T;
  }
}
