import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Kysely } from 'kysely';
import { DbError } from './db-error.ts';
import { ensurePrivateDir } from './private-dir.ts';
import type { Database } from './schema.ts';

const LEGACY_VERSION = 'v1';
const VERSION = 'v2';
const KEY_FILE = 'secret.key';

/** The associated data binding an envelope to what it belongs to (an instance id). */
const aadOf = (boundTo: string) => Buffer.from(`omni-sync:${boundTo}`, 'utf8');

/**
 * AES-256-GCM envelope for credentials at rest (bot tokens, WhatsApp keys), bound to what it
 * belongs to: the instance id is the associated data, so a value copied to another instance's row
 * does not decrypt there.
 *
 * Format `v2:<iv b64>:<tag b64>:<ciphertext b64>` (a 12-byte random IV per value, associated data
 * `omni-sync:<instance id>`). Envelopes of the earlier `v1:` format (no associated data) still
 * decrypt; {@link upgradeCredentialEnvelopes} rewrites stored ones as `v2`.
 */
export class CredentialCipher {
  readonly #key: Buffer;

  /** @param key 32 raw bytes, or a 64-char hex / 44-char base64 string of them. */
  constructor(key: Buffer | string) {
    this.#key = typeof key === 'string' ? parseKey(key) : key;
    if (this.#key.length !== 32) {
      throw new DbError('BAD_SECRET_KEY', 'the secret key must be 32 bytes (64 hex chars or base64)');
    }
  }

  /** Encrypts a UTF-8 string for `boundTo` (the instance id it belongs to). */
  encrypt(plaintext: string, boundTo: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(aadOf(boundTo));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [
      VERSION,
      iv.toString('base64'),
      cipher.getAuthTag().toString('base64'),
      body.toString('base64'),
    ].join(':');
  }

  /**
   * Decrypts an envelope made by {@link encrypt} for `boundTo`; a wrong key, another instance's
   * envelope or tampering throws `DECRYPT_FAILED`. A legacy `v1` envelope decrypts without binding.
   */
  decrypt(envelope: string, boundTo: string): string {
    const [version, iv, tag, body] = envelope.split(':');
    if ((version !== VERSION && version !== LEGACY_VERSION) || !iv || !tag || body === undefined) {
      throw new DbError('DECRYPT_FAILED', 'not a credential envelope');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64'));
      if (version === VERSION) decipher.setAAD(aadOf(boundTo));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new DbError(
        'DECRYPT_FAILED',
        'cannot decrypt credentials: wrong OMNI_SECRET_KEY, a value of another instance, or a corrupted value',
        { cause: error },
      );
    }
  }

  /** Encrypts a JSON value for `boundTo`. */
  encryptJson(value: unknown, boundTo: string): string {
    return this.encrypt(JSON.stringify(value), boundTo);
  }

  /** Decrypts a JSON value made for `boundTo`. */
  decryptJson<T = unknown>(envelope: string, boundTo: string): T {
    return JSON.parse(this.decrypt(envelope, boundTo)) as T;
  }

  /** True for an envelope of the earlier format, not bound to its instance. */
  static isLegacy(envelope: string): boolean {
    return envelope.startsWith(`${LEGACY_VERSION}:`);
  }

  /** Short fingerprint of the key (first 8 hex chars of its SHA-256), safe to log. */
  fingerprint(): string {
    return createHash('sha256').update(this.#key).digest('hex').slice(0, 8);
  }
}

/**
 * Rewrites every stored `v1` envelope (instance credentials, WhatsApp auth state) as a `v2`
 * envelope bound to its instance. Idempotent; run at start-up. Returns how many were rewritten.
 */
export async function upgradeCredentialEnvelopes(
  db: Kysely<Database>,
  cipher: CredentialCipher,
): Promise<number> {
  let upgraded = 0;
  const instances = await db
    .selectFrom('instances')
    .select(['id', 'credentials'])
    .where('credentials', 'like', `${LEGACY_VERSION}:%`)
    .execute();
  for (const row of instances) {
    if (!row.credentials) continue;
    const plaintext = cipher.decrypt(row.credentials, row.id);
    const result = await db
      .updateTable('instances')
      .set({ credentials: cipher.encrypt(plaintext, row.id) })
      .where('id', '=', row.id)
      .where('credentials', '=', row.credentials)
      .executeTakeFirst();
    upgraded += Number(result.numUpdatedRows);
  }
  const auth = await db
    .selectFrom('whatsapp_auth')
    .select(['instance_id', 'key', 'value'])
    .where('value', 'like', `${LEGACY_VERSION}:%`)
    .execute();
  for (const row of auth) {
    const plaintext = cipher.decrypt(row.value, row.instance_id);
    const result = await db
      .updateTable('whatsapp_auth')
      .set({ value: cipher.encrypt(plaintext, row.instance_id) })
      .where('instance_id', '=', row.instance_id)
      .where('key', '=', row.key)
      .where('value', '=', row.value)
      .executeTakeFirst();
    upgraded += Number(result.numUpdatedRows);
  }
  return upgraded;
}

function parseKey(text: string): Buffer {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, 'hex');
  return Buffer.from(trimmed, 'base64');
}

/** Where {@link loadCredentialCipher} found its key. */
export type SecretKeySource = 'env' | 'file' | 'generated';

/**
 * The cipher for this process: the key from `OMNI_SECRET_KEY`, else (embedded mode) from
 * `{dataDir}/secret.key`, generated once with mode 0600 when absent.
 */
export function loadCredentialCipher(options: { secretKey?: string | undefined; dataDir?: string } = {}): {
  cipher: CredentialCipher;
  source: SecretKeySource;
} {
  const secret = 'secretKey' in options ? options.secretKey : process.env.OMNI_SECRET_KEY;
  if (secret) return { cipher: new CredentialCipher(secret), source: 'env' };
  const file = join(options.dataDir ?? process.env.DATA_DIR ?? './data', KEY_FILE);
  if (existsSync(file)) return { cipher: new CredentialCipher(readFileSync(file, 'utf8')), source: 'file' };
  ensurePrivateDir(dirname(file));
  writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { cipher: new CredentialCipher(readFileSync(file, 'utf8')), source: 'generated' };
}
