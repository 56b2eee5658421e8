/** Teardown steps run in reverse order, each bounded in time; a failing step does not stop the others. */
export class Cleanup {
  readonly #steps: { what: string; fn: () => unknown }[] = [];

  /** Registers a step; returns a function that runs it now (and unregisters it). */
  add(what: string, fn: () => unknown): () => Promise<void> {
    const step = { what, fn };
    this.#steps.push(step);
    return async () => {
      const i = this.#steps.indexOf(step);
      if (i >= 0) this.#steps.splice(i, 1);
      await runStep(step);
    };
  }

  /** Runs every step, newest first. Returns the steps that failed. */
  async run(): Promise<string[]> {
    const failures: string[] = [];
    while (this.#steps.length > 0) {
      const step = this.#steps.pop();
      if (!step) break;
      const error = await runStep(step);
      if (error) failures.push(`${step.what}: ${error}`);
    }
    return failures;
  }
}

const STEP_TIMEOUT_MS = 15_000;

async function runStep(step: { what: string; fn: () => unknown }): Promise<string | null> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(step.fn),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
      }),
    ]);
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(timer);
  }
}
