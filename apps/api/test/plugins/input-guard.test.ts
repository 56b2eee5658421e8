import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { findNul } from '../../src/plugins/input-guard.ts';
import { auth, createTestApp, type TestApp } from '../helpers.ts';

describe('findNul', () => {
  test('flat objects of strings: clean ones pass, a NUL in a value or a key is found', () => {
    expect(findNul({ id: 'a', jobId: 'b' }, 'params')).toBeNull();
    expect(findNul({}, 'querystring')).toBeNull();
    expect(findNul(undefined, 'body')).toBeNull();
    expect(findNul(null, 'body')).toBeNull();
    expect(findNul({ id: 'ok', jobId: 'a\u0000b' }, 'params')).toEqual({ in: 'params', path: '/jobId' });
    expect(findNul({ 'limit\u0000': '5' }, 'querystring')).toEqual({
      in: 'querystring',
      path: '/limit\\u0000',
    });
    expect(findNul('x\u0000', 'body')).toEqual({ in: 'body', path: '/' });
  });

  test('nested values are walked as before', () => {
    expect(findNul({ a: 1, b: [true, 'fine'], c: { d: null } }, 'body')).toBeNull();
    expect(findNul({ a: 1, b: ['fine', { 'c/d': 'x\u0000' }] }, 'body')).toEqual({
      in: 'body',
      path: '/b/1/c~1d',
    });
    expect(findNul({ list: ['a', 'b'], tag: 'x\u0000' }, 'querystring')).toEqual({
      in: 'querystring',
      path: '/tag',
    });
  });
});

describe('input guard on a route', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  test('a NUL in a path parameter or a query value is a 400 naming where', async () => {
    const param = await t.app.inject({ url: '/api/v2/instances/a%00b', headers: auth });
    expect(param.statusCode).toBe(400);
    expect(param.json().error.details).toEqual([
      { in: 'params', path: '/id', message: 'must not contain NUL characters' },
    ]);
    const query = await t.app.inject({ url: '/api/v2/instances?limit=1%00', headers: auth });
    expect(query.statusCode).toBe(400);
    expect(query.json().error.details[0]).toMatchObject({ in: 'querystring', path: '/limit' });
  });
});
