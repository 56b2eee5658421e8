import type { StopReason } from './job-run.ts';

/** Thrown inside a run to unwind it between batches; never leaves the runner. */
export class StopSignal extends Error {
  override readonly name = 'StopSignal';
  readonly reason: StopReason;

  constructor(reason: StopReason) {
    super(`sync run stopping: ${reason}`);
    this.reason = reason;
  }
}
