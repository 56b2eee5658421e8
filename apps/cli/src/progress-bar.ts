/** The progress counters the service reports for a job (a subset is enough to render). */
export interface JobProgress {
  fetched?: number;
  stored?: number;
  duplicates?: number;
  updated?: number;
  failed?: number;
  mediaDownloaded?: number;
  mediaSkipped?: number;
  mediaFailed?: number;
  mediaBytes?: number;
  rateLimitWaits?: number;
  rateLimitWaitMs?: number;
  chatsTotal?: number;
  chatsDone?: number;
  chatsExhausted?: number;
  etaSeconds?: number | null;
  /** Messages the job is expected to fetch (the plan's estimate); `null` when unknown. */
  estimatedTotal?: number | null;
  /** Chats without a basis for the estimate: the total is then a floor. */
  unestimatedChats?: number;
}

/** A rate-limit wait the job is in (`sync.paused`): when it ends (ISO 8601) and why. */
export interface PauseView {
  until: string;
  reason: string;
}

/** What one line of the bar shows. */
export interface ProgressView {
  status: string;
  progressPercent: number | null;
  progress: JobProgress;
  /** Set while the job waits on a cooldown or its budget. */
  paused?: PauseView | null;
}

const PAUSE_REASONS: Record<string, string> = { cooldown: 'rate limit', token: 'request budget' };

/** "paused until 12:03:40 UTC (rate limit)". */
export function formatPause(pause: PauseView): string {
  const at = new Date(pause.until);
  const time = Number.isNaN(at.getTime()) ? pause.until : at.toISOString().slice(11, 19);
  return `paused until ${time} UTC (${PAUSE_REASONS[pause.reason] ?? pause.reason})`;
}

const n = (value: number | undefined) => (value ?? 0).toLocaleString('en-US');

/** Human size: 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Human duration: 3725 → "1h02m05s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m${String(r).padStart(2, '0')}s`;
  if (m > 0) return `${m}m${String(r).padStart(2, '0')}s`;
  return `${r}s`;
}

/**
 * One line: bar, percent, messages (of the estimated total), chats, media, rate-limit waits, ETA,
 * and the pause the job is in.
 *
 * @example
 * renderProgress({ status: 'running', progressPercent: 42, progress: { stored: 420 } }, 20)
 * // "[########------------]  42% running | msgs 420 stored …"
 */
export function renderProgress(view: ProgressView, width = 24): string {
  const p = view.progress;
  const percent = view.progressPercent === null ? null : Math.max(0, Math.min(100, view.progressPercent));
  const filled = percent === null ? 0 : Math.round((percent / 100) * width);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  const pct = percent === null ? '  ?%' : `${String(Math.floor(percent)).padStart(3)}%`;
  const parts = [
    `${bar} ${pct} ${view.status}`,
    `msgs ${n(p.stored)} stored / ${n(p.fetched)} fetched${typeof p.estimatedTotal === 'number' ? ` of ${p.unestimatedChats ? '≥' : '~'}${n(p.estimatedTotal)}` : ''}, ${n(p.duplicates)} dup${p.failed ? `, ${n(p.failed)} failed` : ''}`,
    `chats ${n(p.chatsDone)}/${n(p.chatsTotal)}${p.chatsExhausted ? ` (${n(p.chatsExhausted)} exhausted)` : ''}`,
    `media ${n(p.mediaDownloaded)} (${formatBytes(p.mediaBytes ?? 0)})${p.mediaSkipped ? ` ${n(p.mediaSkipped)} skipped` : ''}${p.mediaFailed ? ` ${n(p.mediaFailed)} failed` : ''}`,
    `waits ${n(p.rateLimitWaits)} (${formatDuration((p.rateLimitWaitMs ?? 0) / 1000)})`,
  ];
  if (typeof p.etaSeconds === 'number' && view.status === 'running')
    parts.push(`ETA ${formatDuration(p.etaSeconds)}`);
  if (view.paused && view.status === 'running') parts.push(formatPause(view.paused));
  return parts.join(' | ');
}
