import type { Worker } from 'node:worker_threads';

/** The next message of `kind` the worker thread posts (messages of other kinds are left to other listeners). */
export function nextMessage<M extends { kind: string }, K extends M['kind']>(
  worker: Worker,
  kind: K,
): Promise<Extract<M, { kind: K }>> {
  return new Promise((resolve) => {
    const on = (msg: M) => {
      if (msg.kind !== kind) return;
      worker.off('message', on);
      resolve(msg as Extract<M, { kind: K }>);
    };
    worker.on('message', on);
  });
}
