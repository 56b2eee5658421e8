import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DbError } from './db-error.ts';

const VERSION = 'v1';
const KEY_FILE = 'secret.key';

/**
 * AES-256-GCM envelope for credentials at rest (bot tokens, WhatsApp keys).
 * Format: `v1:<iv b64>:<tag b64>:<ciphertext b64>`; a 12-byte random IV per value.
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

  /** Encrypts a UTF-8 string. */
  encrypt(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [
      VERSION,
      iv.toString('base64'),
      cipher.getAuthTag().toString('base64'),
      body.toString('base64'),
    ].join(':');
  }

  /** Decrypts an envelope made by {@link encrypt}; a wrong key or tampering throws `DECRYPT_FAILED`. */
  decrypt(envelope: string): string {
    const [version, iv, tag, body] = envelope.split(':');
    if (version !== VERSION || !iv || !tag || body === undefined) {
      throw new DbError('DECRYPT_FAILED', 'not a credential envelope');
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64'));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new DbError(
        'DECRYPT_FAILED',
        'cannot decrypt credentials: wrong OMNI_SECRET_KEY or corrupted value',
        {
          cause: error,
        },
      );
    }
  }

  /** Encrypts a JSON value. */
  encryptJson(value: unknown): string {
    return this.encrypt(JSON.stringify(value));
  }

  /** Decrypts a JSON value. */
  decryptJson<T = unknown>(envelope: string): T {
    return JSON.parse(this.decrypt(envelope)) as T;
  }

  /** Short fingerprint of the key (first 8 hex chars of its SHA-256), safe to log. */
  fingerprint(): string {
    return createHash('sha256').update(this.#key).digest('hex').slice(0, 8);
  }
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
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return { cipher: new CredentialCipher(readFileSync(file, 'utf8')), source: 'generated' };
}
