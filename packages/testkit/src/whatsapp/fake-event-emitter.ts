import type { BaileysEventMap } from '@whiskeysockets/baileys';

type Listener<E extends keyof BaileysEventMap> = (arg: BaileysEventMap[E]) => void;

/** Baileys' `ev`, reduced to `on`/`off`/`emit`, typed by Baileys' own event map. */
export class FakeEventEmitter {
  readonly #listeners = new Map<keyof BaileysEventMap, Set<(arg: never) => void>>();

  on<E extends keyof BaileysEventMap>(event: E, listener: Listener<E>): void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as (arg: never) => void);
  }

  off<E extends keyof BaileysEventMap>(event: E, listener: Listener<E>): void {
    this.#listeners.get(event)?.delete(listener as (arg: never) => void);
  }

  /** Calls every listener synchronously, as Baileys does (async listeners are not awaited). */
  emit<E extends keyof BaileysEventMap>(event: E, arg: BaileysEventMap[E]): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      (listener as Listener<E>)(arg);
    }
  }

  /** Number of listeners of an event. */
  listenerCount(event: keyof BaileysEventMap): number {
    return this.#listeners.get(event)?.size ?? 0;
  }
}
