import type { FakeWhatsAppScenario } from '../../packages/testkit/src/whatsapp/index.ts';
import { generateTextHistory } from '../../packages/testkit/src/whatsapp/index.ts';

/** The phone every WhatsApp worker process of a scenario plays (passed as `FAULTS_WA_PHONE`, JSON). */
export interface WhatsAppPhone {
  /** Chats of the account. */
  chats: number;
  /** Messages per chat, one an hour back from `newest`. */
  perChat: number;
  /** Unix seconds of the newest message. */
  newest: number;
  /** The push after linking brings the messages of the last this many hours; the rest only on demand. */
  pushedHours: number;
}

const HOUR = 3_600;

/** The testkit fake's script for `phone` (linked: a stored session opens without a QR). */
export function phoneScenario(phone: WhatsAppPhone): FakeWhatsAppScenario {
  return {
    me: { id: '15559990000:7@s.whatsapp.net', lid: '90000:7@lid', name: 'Me' },
    linked: true,
    chats: Array.from({ length: phone.chats }, (_, c) => {
      const jid = `1555000${String(c).padStart(4, '0')}@s.whatsapp.net`;
      return {
        jid,
        name: `Chat ${c}`,
        messages: generateTextHistory({
          chat: jid,
          count: phone.perChat,
          newest: phone.newest,
          spacing: HOUR,
          idPrefix: `W${c}`,
        }),
      };
    }),
    bootstrapSince: phone.newest - phone.pushedHours * HOUR,
  };
}

/** Every message id of the phone, sorted (what a complete sync stores). */
export function phoneIds(phone: WhatsAppPhone): string[] {
  return phoneScenario(phone)
    .chats.flatMap((c) => c.messages.map((m) => String(m.key?.id)))
    .sort();
}

/** Messages the push after linking brings (the last `pushedHours`). */
export function pushedCount(phone: WhatsAppPhone): number {
  return phone.chats * Math.min(phone.perChat, phone.pushedHours + 1);
}
