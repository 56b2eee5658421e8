/**
 * `bun run bench whatsapp-history [--messages N] [--chats C] [--chunk K]`
 *
 * WhatsApp history throughput on the local Postgres (a throw-away database per path):
 *  1. pipeline: N messages in real `proto.HistorySync` chunks of K messages, each decoded and run
 *     through Baileys' `processHistoryMessage`, emitted as `messaging-history.set` on a fake socket,
 *     normalized by the WhatsApp plugin and handed over as production does it on Postgres
 *     (`HistoryInbox.putAndCommit`, the durable path of `startWhatsApp`): stored by
 *     `HistoryIngestor` (messages, chats, contacts, LID pairs) in ONE autocommitted statement
 *     (the upserts as CTEs of the dedupe writer's messages statement); once that statement is on
 *     its way the batch is written to `history_inbox` (zstd-compressed JSON, synchronous commit) on
 *     a second connection, and the row is deleted lazily once both are done (by the next chunk's
 *     statement);
 *  2. writer: the same N messages, already normalized, straight through `DedupeWriter` in the same
 *     batches.
 * Chunks are encoded before timing (that is the phone's work); the writer path's normalization is
 * untimed. The two paths run interleaved chunk by chunk (each on its own database) so both see the
 * same machine load and table growth; `seconds` is the pipeline's summed time. `medianChunkRatio`
 * (median over chunks of writer time / pipeline time) is the same ratio made robust to load spikes
 * on a shared machine. Prints one JSON line:
 * `{"bench":"whatsapp-history","messages":N,"seconds":S,"msgsPerSec":R,"writerMsgsPerSec":W,"ratio":R/W,…}`.
 */

import { IdentityMap } from '../packages/channel-whatsapp/src/identity/identity-map.ts';
import { createWhatsAppPlugin, MemoryAuthStateStore } from '../packages/channel-whatsapp/src/index.ts';
import { ChatRegistry } from '../packages/channel-whatsapp/src/session/chat-registry.ts';
import { absorbHistory } from '../packages/channel-whatsapp/src/session/history-absorber.ts';
import { createTestDb, type TestDb } from '../packages/db/src/testing.ts';
import {
  DedupeWriter,
  HistoryInbox,
  HistoryIngestor,
  type InstanceId,
  instanceId,
  type NormalizedContact,
  type NormalizedMessage,
} from '../packages/sync-core/src/index.ts';
import {
  createFakeSocketFactory,
  encodeHistorySync,
  type HistoryConversation,
  historySetEventFromBytes,
  type PublishedMedia,
  waMessages,
} from '../packages/testkit/src/whatsapp/index.ts';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

const MESSAGES = arg('messages', 100_000);
const CHATS = arg('chats', 100);
const CHUNK = arg('chunk', 1_000);
const NOW = Math.floor(Date.now() / 1000);
const INITIAL_BOOTSTRAP = 0;

const fakeMedia = (i: number): PublishedMedia => ({
  url: `https://mmg.whatsapp.net/v/t62.7118-24/${i}.enc`,
  mediaKey: new Uint8Array(32).fill(i & 0xff),
  fileSha256: new Uint8Array(32).fill((i * 7) & 0xff),
  fileEncSha256: new Uint8Array(32).fill((i * 13) & 0xff),
  fileLength: 40_000 + i,
  mimetype: 'image/jpeg',
});

/** N messages over C chats (text, replies, images, voice notes, reactions), newest first per chat. */
function buildChunks(): Uint8Array[] {
  const perChat = Math.ceil(MESSAGES / CHATS);
  const all: { chat: string; message: ReturnType<typeof waMessages.text> }[] = [];
  for (let c = 0; c < CHATS && all.length < MESSAGES; c++) {
    const group = c % 5 === 0;
    const chat = group
      ? `1203630000${String(c).padStart(8, '0')}@g.us`
      : `1555${String(c).padStart(7, '0')}@s.whatsapp.net`;
    for (let i = 0; i < perChat && all.length < MESSAGES; i++) {
      const fromMe = i % 3 === 0;
      const e = {
        id: `3EB0${c.toString(16)}X${i.toString(16).padStart(6, '0')}`,
        chat,
        timestamp: NOW - i * 97 - c,
        fromMe,
        ...(group && !fromMe ? { participant: `1666${String(i % 40).padStart(7, '0')}@s.whatsapp.net` } : {}),
        ...(fromMe ? {} : { pushName: `Peer ${i % 40}` }),
      };
      const k = i % 20;
      const message =
        k === 7
          ? waMessages.image(e, fakeMedia(i), 'a photo')
          : k === 11
            ? waMessages.voice(e, fakeMedia(i), 12, new Uint8Array(64).fill(9))
            : k === 13
              ? waMessages.reaction(
                  e,
                  { id: `3EB0${c.toString(16)}X${(i + 1).toString(16).padStart(6, '0')}`, chat },
                  '👍',
                )
              : k % 4 === 1
                ? waMessages.extendedText(e, `reply number ${i} with a link https://example.com/${i}`, {
                    id: `3EB0${c.toString(16)}X${(i + 2).toString(16).padStart(6, '0')}`,
                    chat,
                  })
                : waMessages.text(e, `message ${i} in chat ${c}: lorem ipsum dolor sit amet`);
      all.push({ chat, message });
    }
  }
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < all.length; i += CHUNK) {
    const byChat = new Map<string, HistoryConversation>();
    for (const { chat, message } of all.slice(i, i + CHUNK)) {
      let conv = byChat.get(chat);
      if (!conv) {
        conv = { id: chat, name: `Chat ${chat.slice(0, 8)}`, messages: [] };
        byChat.set(chat, conv);
      }
      conv.messages.push(message);
    }
    chunks.push(
      encodeHistorySync({
        syncType: INITIAL_BOOTSTRAP,
        conversations: [...byChat.values()],
        chunkOrder: chunks.length,
      }),
    );
  }
  return chunks;
}

async function newInstance(t: TestDb, name: string): Promise<InstanceId> {
  const row = await t.db
    .insertInto('instances')
    .values({ name, channel: 'whatsapp-baileys' })
    .returning('id')
    .executeTakeFirstOrThrow();
  return instanceId(row.id);
}

async function count(t: TestDb, instance: string): Promise<number> {
  const row = await t.db
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('instance_id', '=', instance)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Plugin path: decode + Baileys processing + normalize + inbox + HistoryIngestor, one chunk per call. */
async function makePipeline(t: TestDb) {
  const inbox = new HistoryInbox(t.db, new HistoryIngestor(t.db, new DedupeWriter(t.db)));
  const fake = createFakeSocketFactory({
    me: { id: '15559990000@s.whatsapp.net', name: 'Bench' },
    chats: [],
    pushOnOpen: false,
  });
  const plugin = createWhatsAppPlugin({ socketFactory: fake.factory, authStore: new MemoryAuthStateStore() });
  let target = await newInstance(t, 'bench-warmup');
  plugin.setHistoryHandler(async (pushed) => {
    const batch = { ...pushed, instanceId: target };
    // As startWhatsApp on Postgres: the inbox write beside the storing statement; the row is
    // deleted lazily once both are done (DurableHistoryHandler, `parallel`).
    const { error } = await inbox.putAndCommit(batch);
    if (error) throw error;
  });
  const session = instanceId('bench-session');
  await plugin.connect(session);
  const socket = fake.last;
  if (!socket) throw new Error('no socket');
  return {
    retarget: async (name: string) => {
      target = await newInstance(t, name);
      return target;
    },
    /** Times one chunk: from its bytes to committed rows. */
    run: async (bytes: Uint8Array) => {
      const started = performance.now();
      socket.ev.emit('messaging-history.set', historySetEventFromBytes(bytes));
      await plugin.flush(session);
      return performance.now() - started;
    },
    close: async () => {
      await plugin.close();
      // The last chunk's inbox row (deleted lazily), before the database goes.
      await inbox.flushDeletes();
    },
  };
}

/** Writer path: messages normalized beforehand (untimed), then through DedupeWriter. */
async function makeWriter(t: TestDb) {
  const writer = new DedupeWriter(t.db);
  const identity = new IdentityMap();
  const target = {
    identity,
    chats: new ChatRegistry(identity),
    contacts: new Map<string, NormalizedContact>(),
    self: { id: '15559990000@s.whatsapp.net', name: 'Bench' },
    includeRaw: true,
  };
  let instance = await newInstance(t, 'bench-writer-warmup');
  return {
    retarget: async (name: string) => {
      instance = await newInstance(t, name);
      return instance;
    },
    normalize: (bytes: Uint8Array): NormalizedMessage[] =>
      absorbHistory(historySetEventFromBytes(bytes), target).messages.map((m) => m.normalized),
    run: async (messages: NormalizedMessage[]) => {
      const started = performance.now();
      await writer.writeBatch({ instanceId: instance, messages });
      return performance.now() - started;
    },
  };
}

const chunks = buildChunks();
const warmup = chunks.slice(0, Math.min(3, chunks.length));
const dbPipeline = await createTestDb('postgres');
const dbWriter = await createTestDb('postgres');
try {
  const pipe = await makePipeline(dbPipeline);
  const write = await makeWriter(dbWriter);
  for (const bytes of warmup) {
    await pipe.run(bytes);
    await write.run(write.normalize(bytes));
  }
  const pipeInstance = await pipe.retarget('bench-pipeline');
  const writeInstance = await write.retarget('bench-writer');
  // Interleaved chunk by chunk so both databases grow alike and see the same machine load.
  let pipeMs = 0;
  let writeMs = 0;
  const chunkRatios: number[] = [];
  for (const bytes of chunks) {
    const p = await pipe.run(bytes);
    const w = await write.run(write.normalize(bytes));
    pipeMs += p;
    writeMs += w;
    chunkRatios.push(w / p);
  }
  chunkRatios.sort((a, b) => a - b);
  const medianChunkRatio = chunkRatios[Math.floor(chunkRatios.length / 2)] ?? 0;
  await pipe.close();
  const stored = [await count(dbPipeline, pipeInstance), await count(dbWriter, writeInstance)];
  if (stored.some((n) => n !== MESSAGES)) throw new Error(`stored ${stored.join('/')} of ${MESSAGES}`);
  const seconds = pipeMs / 1000;
  const msgsPerSec = MESSAGES / seconds;
  const writerMsgsPerSec = MESSAGES / (writeMs / 1000);
  console.log(
    JSON.stringify({
      bench: 'whatsapp-history',
      messages: MESSAGES,
      seconds: Number(seconds.toFixed(3)),
      msgsPerSec: Math.round(msgsPerSec),
      writerMsgsPerSec: Math.round(writerMsgsPerSec),
      ratio: Number((msgsPerSec / writerMsgsPerSec).toFixed(3)),
      writerSeconds: Number((writeMs / 1000).toFixed(3)),
      medianChunkRatio: Number(medianChunkRatio.toFixed(3)),
      chunk: CHUNK,
      chats: CHATS,
    }),
  );
} finally {
  await dbPipeline.close();
  await dbWriter.close();
}
