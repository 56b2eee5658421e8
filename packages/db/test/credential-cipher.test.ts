import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialCipher, DbError, loadCredentialCipher } from '../src/index.ts';
import { createTestDb, type TestDb } from '../src/testing.ts';

const KEY = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);

describe('CredentialCipher', () => {
  test('round-trips and never repeats a ciphertext', () => {
    const cipher = new CredentialCipher(KEY);
    const a = cipher.encryptJson({ token: 'Bot secret-token' });
    const b = cipher.encryptJson({ token: 'Bot secret-token' });
    expect(a).not.toBe(b);
    expect(a).not.toContain('secret-token');
    expect(cipher.decryptJson(a)).toEqual({ token: 'Bot secret-token' });
  });

  test('a wrong key fails clearly', () => {
    const envelope = new CredentialCipher(KEY).encrypt('hello');
    const wrong = new CredentialCipher(OTHER);
    expect(() => wrong.decrypt(envelope)).toThrow(/wrong OMNI_SECRET_KEY/);
    try {
      wrong.decrypt(envelope);
    } catch (error) {
      expect(error).toBeInstanceOf(DbError);
      expect((error as DbError).code).toBe('DECRYPT_FAILED');
    }
  });

  test('tampering is detected', () => {
    const cipher = new CredentialCipher(KEY);
    const parts = cipher.encrypt('hello world').split(':');
    const body = Buffer.from(parts[3] ?? '', 'base64');
    body[0] = (body[0] ?? 0) ^ 1;
    parts[3] = body.toString('base64');
    expect(() => cipher.decrypt(parts.join(':'))).toThrow(DbError);
    expect(() => cipher.decrypt('not-an-envelope')).toThrow(/not a credential envelope/);
  });

  test('rejects keys of the wrong size', () => {
    expect(() => new CredentialCipher('abcd')).toThrow(/32 bytes/);
  });

  test('embedded mode generates a key file once, mode 0600', () => {
    const dir = mkdtempSync(join(tmpdir(), 'omni-key-'));
    try {
      const first = loadCredentialCipher({ secretKey: undefined, dataDir: dir });
      expect(first.source).toBe('generated');
      const file = join(dir, 'secret.key');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const second = loadCredentialCipher({ secretKey: undefined, dataDir: dir });
      expect(second.source).toBe('file');
      expect(second.cipher.decrypt(first.cipher.encrypt('x'))).toBe('x');
      expect(readFileSync(file, 'utf8')).toMatch(/^[0-9a-f]{64}$/);
      expect(loadCredentialCipher({ secretKey: KEY, dataDir: dir }).source).toBe('env');
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

  test('are unreadable in the table and decrypt with the key', async () => {
    const cipher = new CredentialCipher(KEY);
    const token = 'MTIzNDU2Nzg5.super-secret-bot-token';
    const row = await t.db
      .insertInto('instances')
      .values({ name: 'enc', channel: 'discord', credentials: cipher.encryptJson({ token }) })
      .returning('id')
      .executeTakeFirstOrThrow();
    const stored = await t.db
      .selectFrom('instances')
      .select('credentials')
      .where('id', '=', row.id)
      .executeTakeFirstOrThrow();
    expect(stored.credentials).not.toContain(token);
    expect(stored.credentials).not.toContain(Buffer.from(token).toString('base64'));
    expect(cipher.decryptJson(stored.credentials ?? '')).toEqual({ token });
    expect(() => new CredentialCipher(OTHER).decryptJson(stored.credentials ?? '')).toThrow(DbError);
  });
});
