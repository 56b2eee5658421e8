/** UTC ms of a Slack ts (`seconds.micros`); `NaN` when it is not one. */
export function msFromTs(ts: string): number {
  const m = /^(\d{1,12})(?:\.(\d{1,6}))?$/.exec(ts);
  if (!m) return Number.NaN;
  return Number(m[1]) * 1000 + Math.floor(Number((m[2] ?? '').padEnd(6, '0')) / 1000);
}

/** The Slack ts of a UTC ms time (its first microsecond). */
export function tsFromMs(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return `${seconds}.${String((ms - seconds * 1000) * 1000).padStart(6, '0')}`;
}

/** Whether `text` is a Slack ts. */
export function isTs(text: unknown): text is string {
  return typeof text === 'string' && /^\d{1,12}\.\d{6}$/.test(text);
}

/** Compares two ts (numeric order). */
export function compareTs(a: string, b: string): number {
  const [as, am = ''] = a.split('.');
  const [bs, bm = ''] = b.split('.');
  return Number(as) - Number(bs) || Number(am.padEnd(6, '0')) - Number(bm.padEnd(6, '0'));
}
