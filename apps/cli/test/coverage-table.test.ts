import { expect, test } from 'bun:test';
import { type CoverageView, renderCoverage, renderPlan } from '../src/index.ts';

const report: CoverageView = {
  depth: '30d',
  since: '2026-11-06T12:00:00.000Z',
  until: '2026-12-06T12:00:00.000Z',
  summary: {
    chats: 3,
    complete: 1,
    withGaps: 2,
    neverSynced: 0,
    notPermitted: 1,
    gapReasons: { depth: 1, 'not-permitted': 1 },
    storedMessages: 130,
  },
  chats: [
    {
      chatId: '111',
      name: 'general',
      ranges: [
        {
          from: '2026-11-29T12:00:00.000Z',
          to: '2026-12-05T12:00:00.000Z',
          fromReason: 'depth',
          toReason: 'depth',
        },
      ],
      gaps: [{ from: '2026-11-06T12:00:00.000Z', to: '2026-11-29T12:00:00.000Z', reason: 'depth' }],
      tail: { from: '2026-12-05T12:00:00.000Z', to: '2026-12-06T12:00:00.000Z' },
      complete: false,
      notPermitted: null,
      storedCount: 100,
      oldestMessageAt: '2026-11-29T12:05:00.000Z',
      newestMessageAt: '2026-12-05T11:59:00.000Z',
    },
    {
      chatId: '222',
      name: 'fresh',
      ranges: [
        {
          from: '1970-01-01T00:00:00.000Z',
          to: '2026-12-06T12:00:00.000Z',
          fromReason: 'exhausted',
          toReason: 'depth',
        },
      ],
      gaps: [],
      tail: null,
      complete: true,
      notPermitted: null,
      storedCount: 30,
      oldestMessageAt: '2026-12-03T12:00:00.000Z',
      newestMessageAt: '2026-12-06T11:00:00.000Z',
    },
    {
      chatId: '333',
      name: 'staff-only',
      ranges: [],
      gaps: [{ from: '2026-11-06T12:00:00.000Z', to: '2026-12-06T12:00:00.000Z', reason: 'not-permitted' }],
      tail: null,
      complete: false,
      notPermitted: 'missing VIEW_CHANNEL permission',
      storedCount: 0,
      oldestMessageAt: null,
      newestMessageAt: null,
    },
  ],
};

test('the coverage table: a row per chat, each gap with its span and reason, the summary', () => {
  const text = renderCoverage(report);
  const lines = text.split('\n');
  expect(lines[0]).toBe('coverage to 30d (2026-11-06 12:00 → 2026-12-06 12:00)');
  expect(lines[1]).toMatch(/^CHAT\s+STATUS\s+STORED\s+OLDEST\s+NEWEST\s+COVERED FROM\s+NOT SYNCED SINCE$/);
  expect(lines[2]).toMatch(
    /^general \(111\)\s+1 gap\s+100\s+2026-11-29 12:05\s+2026-12-05 11:59\s+2026-11-29 12:00 \[depth\]\s+2026-12-05 12:00 \(24h\)$/,
  );
  expect(lines[3]).toMatch(/^fresh \(222\)\s+complete \(all\)\s+30 .* 1970-01-01 00:00 \[exhausted\]\s+-$/);
  expect(lines[4]).toMatch(/^staff-only \(333\)\s+not permitted\s+0\s+-\s+-\s+-\s+-$/);
  // Columns line up: every row starts its STATUS column at the same offset.
  const at = lines[1]!.indexOf('STATUS');
  for (const l of lines.slice(2, 5)) expect(l[at - 1]).toBe(' ');
  expect(text).toContain('  general (111): 2026-11-06 12:00 → 2026-11-29 12:00 (23d) depth');
  expect(text).toContain('  staff-only (333): not permitted — missing VIEW_CHANNEL permission');
  expect(lines.at(-1)).toBe(
    '3 chats: 1 complete, 2 with gaps, 0 never synced, 1 not permitted; 130 messages stored; gaps by reason: depth 1, not-permitted 1',
  );
});

test('the plan table: a row per window with its estimates, the totals and how to run it', () => {
  const text = renderPlan({
    planId: 'abc',
    type: 'messages',
    depth: '90d',
    since: '2026-09-07T12:00:00.000Z',
    until: '2026-12-06T12:00:00.000Z',
    estimatedMessages: 1200,
    estimatedRequests: 14,
    unestimatedChats: 1,
    etaSeconds: 17,
    chats: [
      {
        chatId: '111',
        messagesPerDay: 20,
        windows: [
          {
            from: '2026-12-05T12:00:00.000Z',
            to: '2026-12-06T12:00:00.000Z',
            estimatedMessages: 20,
            estimatedRequests: 1,
          },
          {
            from: '2026-09-07T12:00:00.000Z',
            to: '2026-11-06T12:00:00.000Z',
            estimatedMessages: 1180,
            estimatedRequests: 12,
          },
        ],
      },
      {
        chatId: '222',
        messagesPerDay: null,
        windows: [
          {
            from: '2026-09-07T12:00:00.000Z',
            to: '2026-12-06T12:00:00.000Z',
            estimatedMessages: null,
            estimatedRequests: null,
          },
        ],
      },
    ],
  });
  const lines = text.split('\n');
  expect(lines[0]).toBe('plan: messages to 90d (2026-09-07 12:00 → 2026-12-06 12:00)');
  expect(lines[2]).toMatch(/^111\s+2026-12-05 12:00 → 2026-12-06 12:00\s+24h\s+20\s+1$/);
  expect(lines[3]).toMatch(/^111\s+2026-09-07 12:00 → 2026-11-06 12:00\s+60d\s+1180\s+12$/);
  expect(lines[4]).toMatch(/^222\s+.*\s+90d\s+\?\s+\?$/);
  expect(text).toContain(
    '2 chats, ~1200 messages, ~14 requests, ETA ~17 s; 1 chats never synced (not estimated)',
  );
  expect(lines.at(-1)).toBe('run it: omni-sync sync <instanceId> --plan abc');
});

test('a chat whose newest edge is live says so after its tail, and the summary counts it', () => {
  const general = report.chats[0]!;
  const live: CoverageView = {
    ...report,
    summary: { ...report.summary, live: 1 },
    chats: [
      {
        ...general,
        ranges: [{ ...general.ranges[0]!, toReason: 'live' }],
        live: true,
      },
    ],
  };
  const lines = renderCoverage(live).split('\n');
  expect(lines[2]).toMatch(/2026-12-05 12:00 \(24h\) live$/);
  expect(lines.at(-1)).toContain('1 not permitted, 1 live; 130 messages stored');
  // Without the field (an older server) nothing is claimed.
  expect(renderCoverage(report)).not.toContain(' live');
});
