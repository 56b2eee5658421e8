import type { LidMapping } from '@omni/sync-core';
import { isLidJid, isPnJid, normalizeJid } from './jid.ts';

/**
 * One LID ↔ phone-number pair, as Baileys reports it (`lidPnMappings`, `lid-mapping.update`):
 * the pair sync-core stores in `lid_mappings`.
 */
export type LidPnPair = LidMapping;

/**
 * Per-instance LID ↔ phone-number knowledge, so one person is one chat and one sender.
 *
 * The canonical id of a user is the phone-number JID when it is known and the LID otherwise; the
 * other form is the alternate id (`ChatInfo.altId`). Group ids are their own canonical id.
 */
export class IdentityMap {
  readonly #pnByLid = new Map<string, string>();
  readonly #lidByPn = new Map<string, string>();
  readonly #unsaved = new Map<string, string>();
  readonly #onLearnt: () => void;

  /** `onLearnt` is called whenever a pair was learnt or changed and is waiting to be stored. */
  constructor(onLearnt: () => void = () => {}) {
    this.#onLearnt = onLearnt;
  }

  /** Number of known pairs. */
  get size(): number {
    return this.#pnByLid.size;
  }

  /**
   * Records a pair; returns `true` when it was new or changed. Repeats are harmless. A new or
   * changed pair waits in {@link takeUnsaved} until it is stored.
   */
  link(lid: string | null | undefined, pn: string | null | undefined): boolean {
    const learnt = this.#set(lid, pn);
    if (!learnt) return false;
    this.#unsaved.set(learnt.lid, learnt.pn);
    this.#onLearnt();
    return true;
  }

  /** Records pairs that are already stored (read back from the database): nothing to save. */
  seed(pairs: readonly LidPnPair[]): void {
    for (const { lid, pn } of pairs) this.#set(lid, pn);
  }

  /** The pairs learnt or changed since the last call, to be stored; they are no longer pending. */
  takeUnsaved(): LidPnPair[] {
    const pairs = [...this.#unsaved].map(([lid, pn]) => ({ lid, pn }));
    this.#unsaved.clear();
    return pairs;
  }

  /** Puts pairs whose storing failed back in the pending set, unless a newer pair replaced them. */
  restoreUnsaved(pairs: readonly LidPnPair[]): void {
    for (const { lid, pn } of pairs) {
      if (this.#pnByLid.get(lid) === pn && !this.#unsaved.has(lid)) this.#unsaved.set(lid, pn);
    }
  }

  /** Links a JID with its `…Alt` counterpart (`remoteJid`/`remoteJidAlt`, `participant`/`participantAlt`). */
  linkPair(a: string | null | undefined, b: string | null | undefined): boolean {
    if (isLidJid(a) && isPnJid(b)) return this.link(a, b);
    if (isPnJid(a) && isLidJid(b)) return this.link(b, a);
    return false;
  }

  /** Phone-number JID of a LID, when known. */
  pnOf(lid: string): string | null {
    return this.#pnByLid.get(normalizeJid(lid)) ?? null;
  }

  /** LID of a phone-number JID, when known. */
  lidOf(pn: string): string | null {
    return this.#lidByPn.get(normalizeJid(pn)) ?? null;
  }

  /** The id chats and senders are keyed by. */
  canonical(jid: string): string {
    const n = normalizeJid(jid);
    if (isLidJid(n)) return this.#pnByLid.get(n) ?? n;
    return n;
  }

  /** The other form of the same user (the LID of a phone JID or the reverse), when known. */
  alternate(jid: string): string | null {
    const n = normalizeJid(jid);
    if (isLidJid(n)) return this.#pnByLid.get(n) ?? null;
    if (isPnJid(n)) return this.#lidByPn.get(n) ?? null;
    return null;
  }

  /** All known pairs. */
  pairs(): LidPnPair[] {
    return [...this.#pnByLid].map(([lid, pn]) => ({ lid, pn }));
  }

  /** Records a pair; the normalized pair when it was new or changed, else `null`. */
  #set(lid: string | null | undefined, pn: string | null | undefined): LidPnPair | null {
    if (!isLidJid(lid) || !isPnJid(pn)) return null;
    const l = normalizeJid(lid);
    const p = normalizeJid(pn);
    if (this.#pnByLid.get(l) === p && this.#lidByPn.get(p) === l) return null;
    this.#pnByLid.set(l, p);
    this.#lidByPn.set(p, l);
    return { lid: l, pn: p };
  }
}
