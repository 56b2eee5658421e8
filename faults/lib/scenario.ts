import type { Cleanup } from './cleanup.ts';
import type { FaultsConfig } from './config.ts';
import type { SeededPrng } from './prng.ts';

/** What a scenario gets: the run's configuration, its own cleanup stack and seeded randomness. */
export interface ScenarioContext {
  config: FaultsConfig;
  cleanup: Cleanup;
  prng: SeededPrng;
  /** A progress line (indented under the scenario's result). */
  log(line: string): void;
}

/**
 * One fault scenario. `run` resolves with a short summary when every check held and throws
 * (a `ScenarioFailure`, or whatever broke) otherwise.
 */
export interface Scenario {
  name: string;
  /** Upper bound of the scenario's time, ms, at the given scale; the runner aborts it after that. */
  timeoutMs(config: FaultsConfig): number;
  run(ctx: ScenarioContext): Promise<string>;
}
