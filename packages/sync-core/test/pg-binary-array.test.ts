import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { TEST_ENGINES, type TestDb } from '@omni/db/testing';
import { sql } from 'kysely';
import { PG_ARRAY_ELEMENT, PgBinaryArray } from '../src/storage/pg-binary-array.ts';
import { testDb } from './support/test-db.ts';

for (const engine of TEST_ENGINES) {
  describe(`PgBinaryArray on ${engine}`, () => {
    let t: TestDb;

    beforeAll(async () => {
      t = await testDb(engine);
    }, 60_000);
    afterAll(async () => {
      await t?.close();
    }, 60_000);

    test('text: unicode, NUL removed, lone surrogate replaced, NULL, empty string', async () => {
      const a = new PgBinaryArray(PG_ARRAY_ELEMENT.text, 4);
      for (const v of ['héllo wörld 😀', 'a\u0000b', 'x\ud800y', null, '']) a.text(v);
      const r = await sql<{ v: (string | null)[] }>`select ${a.finish()}::text[] as v`.execute(t.db);
      expect(r.rows[0]?.v).toEqual(['héllo wörld 😀', 'ab', 'x\ufffdy', null, '']);
    });

    test('timestamptz: exact to the microsecond, before 2000, far future, non-finite → NULL', async () => {
      const values = [
        Date.UTC(2026, 0, 1, 12, 30, 15, 123),
        Date.UTC(1970, 0, 1),
        Date.UTC(1969, 11, 31, 23, 59, 59, 999),
        Date.UTC(1999, 11, 31, 23, 59, 59, 999) + 0.25,
        Date.UTC(9999, 11, 31, 23, 59, 59, 999),
        Date.UTC(200_000, 0, 1),
        Number.NaN,
        Number.POSITIVE_INFINITY,
        null,
      ];
      const a = new PgBinaryArray(PG_ARRAY_ELEMENT.timestamptz, 4);
      for (const v of values) a.timestamp(v);
      const r = await sql<{ v: string | null }>`
        select (extract(epoch from v) * 1000000)::bigint::text as v
        from unnest(${a.finish()}::timestamptz[]) with ordinality as u(v, i) order by i`.execute(t.db);
      expect(r.rows.map((x) => x.v)).toEqual([
        ...values.slice(0, 6).map((ms) => String(Math.round((ms as number) * 1000))),
        null,
        null,
        null,
      ]);
    });

    test('jsonb and bool elements; an empty array', async () => {
      const j = new PgBinaryArray(PG_ARRAY_ELEMENT.jsonb, 4);
      j.jsonText('{"a":[1,"x"],"b":null}');
      j.jsonText(null);
      j.jsonText('"s"');
      const b = new PgBinaryArray(PG_ARRAY_ELEMENT.bool, 4);
      b.bool(true);
      b.bool(false);
      b.bool(true);
      const e = new PgBinaryArray(PG_ARRAY_ELEMENT.text, 4);
      const r = await sql<{ j: unknown; b: boolean; n: number }>`
        select j, b, (select count(*) from unnest(${e.finish()}::text[]))::int as n
        from unnest(${j.finish()}::jsonb[], ${b.finish()}::bool[]) as u(j, b)`.execute(t.db);
      expect(r.rows).toEqual([
        { j: { a: [1, 'x'], b: null }, b: true, n: 0 },
        { j: null, b: false, n: 0 },
        { j: 's', b: true, n: 0 },
      ]);
    });

    test('grows past its size hint', async () => {
      const a = new PgBinaryArray(PG_ARRAY_ELEMENT.text, 1);
      const long = 'ü'.repeat(10_000);
      for (let i = 0; i < 50; i += 1) a.text(`${i}${long}`);
      const r = await sql<{ n: number; l: number }>`
        select count(*)::int as n, sum(length(v))::int as l from unnest(${a.finish()}::text[]) as v`.execute(
        t.db,
      );
      expect(r.rows[0]).toEqual({ n: 50, l: 50 * 10_000 + 10 + 40 * 2 });
    });
  });
}
