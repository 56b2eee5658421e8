import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createCipheriv, randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CredentialCipher,
  DbError,
  ensurePrivateDir,
  loadCredentialCipher,
  upgradeCredentialEnvelopes,
} from '../src/index.ts';
import { createTestDb, type TestDb } from '../src/testing.ts';

const KEY = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);
const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';

/** An envelope of the earlier format (`v1`, no associated data), as stored before the binding. */
function legacyEnvelope(key: string, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(key, 'hex'), iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(
    ':',
  );
}

describe('CredentialCipher', () => {
  test('round-trips and never repeats a ciphertext', () => {
    const cipher = new CredentialCipher(KEY);
    const a = cipher.encryptJson({ token: 'Bot secret-token' }, A);
    const b = cipher.encryptJson({ token: 'Bot secret-token' }, A);
    expect(a).toStartWith('v2:');
    expect(a).not.toBe(b);
    expect(a).not.toContain('secret-token');
    expect(cipher.decryptJson(a, A)).toEqual({ token: 'Bot secret-token' });
  });

  test('an envelope is bound to its instance: it does not decrypt for another one', () => {
    const cipher = new CredentialCipher(KEY);
    const envelope = cipher.encrypt('token of A', A);
    expect(() => cipher.decrypt(envelope, B)).toThrow(DbError);
    expect(cipher.decrypt(envelope, A)).toBe('token of A');
  });

  test('a legacy v1 envelope still decrypts', () => {
    const cipher = new CredentialCipher(KEY);
    const legacy = legacyEnvelope(KEY, 'old secret');
    expect(CredentialCipher.isLegacy(legacy)).toBe(true);
    expect(cipher.decrypt(legacy, A)).toBe('old secret');
  });

  test('a wrong key fails clearly', () => {
    const envelope = new CredentialCipher(KEY).encrypt('hello', A);
    const wrong = new CredentialCipher(OTHER);
    expect(() => wrong.decrypt(envelope, A)).toThrow(/wrong OMNI_SECRET_KEY/);
    try {
      wrong.decrypt(envelope, A);
    } catch (error) {
      expect(error).toBeInstanceOf(DbError);
      expect((error as DbError).code).toBe('DECRYPT_FAILED');
    }
  });

  test('tampering is detected', () => {
    const cipher = new CredentialCipher(KEY);
    const parts = cipher.encrypt('hello world', A).split(':');
    const body = Buffer.from(parts[3] ?? '', 'base64');
    body[0] = (body[0] ?? 0) ^ 1;
    parts[3] = body.toString('base64');
    expect(() => cipher.decrypt(parts.join(':'), A)).toThrow(DbError);
    expect(() => cipher.decrypt('not-an-envelope', A)).toThrow(/not a credential envelope/);
    // Downgrading a v2 envelope to v1 (dropping the binding) does not decrypt either.
    const downgraded = ['v1', ...cipher.encrypt('x', A).split(':').slice(1)].join(':');
    expect(() => cipher.decrypt(downgraded, B)).toThrow(DbError);
  });

  test('rejects keys of the wrong size', () => {
    expect(() => new CredentialCipher('abcd')).toThrow(/32 bytes/);
  });

  test('embedded mode generates a key file once, mode 0600', () => {
    const dir = mkdtempSync(join(tmpdir(), 'omni-key-'));
    try {
      const data = join(dir, 'data');
      const first = loadCredentialCipher({ secretKey: undefined, dataDir: data });
      expect(first.source).toBe('generated');
      const file = join(data, 'secret.key');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(data).mode & 0o777).toBe(0o700);
      // An existing, wider data folder is narrowed too.
      const wide = join(dir, 'wide');
      mkdirSync(wide, { mode: 0o755 });
      chmodSync(wide, 0o755);
      ensurePrivateDir(wide);
      expect(statSync(wide).mode & 0o777).toBe(0o700);
      const second = loadCredentialCipher({ secretKey: undefined, dataDir: data });
      expect(second.source).toBe('file');
      expect(second.cipher.decrypt(first.cipher.encrypt('x', A), A)).toBe('x');
      expect(readFileSync(file, 'utf8')).toMatch(/^[0-9a-f]{64}$/);
      expect(loadCredentialCipher({ secretKey: KEY, dataDir: data }).source).toBe('env');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('credentials at rest (postgres)', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb('postgres');
  });
  afterAll(async () => {
    await t?.close();
  });

  test('are unreadable in the table and decrypt with the key, for their own row only', async () => {
    const cipher = new CredentialCipher(KEY);
    const token = 'MTIzNDU2Nzg5.super-secret-bot-token';
    const id = randomUUID();
    await t.db
      .insertInto('instances')
      .values({ id, name: 'enc', channel: 'discord', credentials: cipher.encryptJson({ token }, id) })
      .execute();
    const stored = await t.db
      .selectFrom('instances')
      .select('credentials')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(stored.credentials).not.toContain(token);
    expect(stored.credentials).not.toContain(Buffer.from(token).toString('base64'));
    expect(cipher.decryptJson(stored.credentials ?? '', id)).toEqual({ token });
    expect(() => new CredentialCipher(OTHER).decryptJson(stored.credentials ?? '', id)).toThrow(DbError);
    expect(() => cipher.decryptJson(stored.credentials ?? '', randomUUID())).toThrow(DbError);
  });

  test('stored v1 envelopes are rewritten as v2 bound to their instance, once', async () => {
    const cipher = new CredentialCipher(KEY);
    const id = randomUUID();
    await t.db
      .insertInto('instances')
      .values({
        id,
        name: 'legacy',
        channel: 'whatsapp-baileys',
        credentials: legacyEnvelope(KEY, JSON.stringify({ token: 'legacy-token' })),
      })
      .execute();
    await t.db
      .insertInto('whatsapp_auth')
      .values({ instance_id: id, key: 'creds', value: legacyEnvelope(KEY, '{"me":1}') })
      .execute();
    expect(await upgradeCredentialEnvelopes(t.db, cipher)).toBe(2);
    expect(await upgradeCredentialEnvelopes(t.db, cipher)).toBe(0);
    const row = await t.db
      .selectFrom('instances')
      .select('credentials')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    const auth = await t.db
      .selectFrom('whatsapp_auth')
      .select('value')
      .where('instance_id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.credentials).toStartWith('v2:');
    expect(auth.value).toStartWith('v2:');
    expect(cipher.decryptJson(row.credentials ?? '', id)).toEqual({ token: 'legacy-token' });
    expect(cipher.decrypt(auth.value, id)).toBe('{"me":1}');
    expect(() => cipher.decrypt(auth.value, randomUUID())).toThrow(DbError);
  });
});
