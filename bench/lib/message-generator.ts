import type { NormalizedMessage } from '../../packages/sync-core/src/index.ts';

/** A small fast seeded PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS =
  'the a sync history message channel server bot ok yes no maybe tomorrow today meeting deploy fix bug release thanks lol nice great see you later please check this link image video call'.split(
    ' ',
  );

/**
 * `chats × perChat` Discord-like messages (snowflake ids, 20–120 char texts, a raw payload of a
 * few hundred bytes), deterministic for a seed. Chat `c` holds messages `[c*perChat, (c+1)*perChat)`,
 * oldest first, one second apart.
 */
export function generateMessages(chats: number, perChat: number, seed = 42): NormalizedMessage[][] {
  const rand = prng(seed);
  const base = Date.UTC(2025, 0, 1);
  const out: NormalizedMessage[][] = [];
  let snowflake = 1_300_000_000_000_000_000n;
  for (let c = 0; c < chats; c += 1) {
    const chatId = String(900_000_000_000_000_000n + BigInt(c));
    const list: NormalizedMessage[] = new Array(perChat);
    for (let i = 0; i < perChat; i += 1) {
      snowflake += BigInt(1 + Math.floor(rand() * 1000));
      const id = snowflake.toString();
      const author = String(100_000_000_000_000_000n + BigInt(Math.floor(rand() * 500)));
      const words = 4 + Math.floor(rand() * 16);
      let text = '';
      for (let w = 0; w < words; w += 1) text += `${w ? ' ' : ''}${WORDS[Math.floor(rand() * WORDS.length)]}`;
      const timestamp = base + (c * perChat + i) * 1000;
      list[i] = {
        externalId: id as NormalizedMessage['externalId'],
        chatId: chatId as NormalizedMessage['chatId'],
        senderId: author as NonNullable<NormalizedMessage['senderId']>,
        senderName: `user${author.slice(-3)}`,
        timestamp,
        kind: 'text',
        text,
        media: [],
        raw: {
          id,
          channel_id: chatId,
          type: 0,
          author: { id: author, username: `user${author.slice(-3)}`, bot: false },
          timestamp: new Date(timestamp).toISOString(),
          flags: 0,
          pinned: false,
        },
      };
    }
    out.push(list);
  }
  return out;
}
