import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ApiClient, ApiError } from './api-client.ts';
import { type CoverageView, type PlanView, renderCoverage, renderPlan } from './coverage-table.ts';
import { type JobProgress, type PauseView, type ProgressView, renderProgress } from './progress-bar.ts';

/** Where the CLI writes; injectable for tests. */
export interface CliIo {
  out: (line: string) => void;
  err: (text: string) => void;
  /** True when `err` is a terminal: the bar redraws in place. */
  isTty: boolean;
  env: Record<string, string | undefined>;
  fetch?: typeof fetch;
}

const USAGE = `omni-sync — drive an omni-sync service

usage: omni-sync <command> [options]

commands:
  instances                              list instances
  create <name> <channel>                create an instance (discord, slack, whatsapp-baileys)
  connect <instanceId> [--token T]       connect it: Discord bot token, Slack xoxb-/xoxp- token
                                         (or env OMNI_CONNECT_TOKEN, kept out of shell history);
                                         WhatsApp without a token (then link the phone)
  profile <instanceId>                   show an instance's profile
  sync <instanceId> [--type messages] [--depth 7d] [--channel ID] [--media] [--plan PLANID] [--no-follow]
                                         start a sync and follow it with a live progress bar
  follow <instanceId> <jobId>            follow a running job
  jobs <instanceId> [--status S]         list an instance's jobs
  show <instanceId> <jobId>              show a job with all its counters
  cancel <instanceId> <jobId>            cancel a job (stops between batches)
  resume <instanceId> <jobId>            resume a failed or cancelled job from its checkpoint
  plan <instanceId> [--depth 90d] [--type messages|catchup]
                                         what a sync would fetch, estimated, without running it
  coverage <instanceId> [--depth 30d] [--channel ID]
                                         what is stored per chat, the gaps inside the depth and why

options:
  --url URL        service address (env OMNI_URL, default http://localhost:8881)
  --api-key KEY    x-api-key (env OMNI_API_KEY or API_KEY, else $DATA_DIR/api-key)
  --json           print raw JSON instead of text
`;

interface JobView extends ProgressView {
  jobId: string;
  type: string;
  errorMessage?: string | null;
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** An id given on the command line as one path segment: `../settings` or `a/b` cannot reach another route. */
function seg(id: string | undefined): string {
  if (id === undefined || id === '' || id === '.' || id === '..') {
    throw new UsageError(`"${id ?? ''}" is not an id; see --help`);
  }
  return encodeURIComponent(id);
}

/** Runs one CLI invocation; returns the process exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      'api-key': { type: 'string' },
      type: { type: 'string', default: 'messages' },
      depth: { type: 'string' },
      channel: { type: 'string' },
      plan: { type: 'string' },
      token: { type: 'string' },
      media: { type: 'boolean', default: false },
      'no-follow': { type: 'boolean', default: false },
      status: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...args] = positionals;
  if (!command || values.help) {
    io.out(USAGE);
    return command || values.help ? 0 : 2;
  }
  const apiKey =
    values['api-key'] ?? io.env.OMNI_API_KEY ?? io.env.API_KEY ?? readKeyFile(io.env.DATA_DIR ?? './data');
  const api = new ApiClient({
    baseUrl: values.url ?? io.env.OMNI_URL ?? 'http://localhost:8881',
    apiKey,
    ...(io.fetch ? { fetch: io.fetch } : {}),
  });
  const print = (value: unknown, text: () => string) =>
    io.out(values.json ? JSON.stringify(value, null, 2) : text());
  const need = (count: number) => {
    if (args.length < count) throw new UsageError(`${command} needs ${count} argument(s); see --help`);
  };

  try {
    switch (command) {
      case 'instances': {
        const list = await api.call<{ items: Record<string, unknown>[] }>('GET', '/instances');
        print(
          list,
          () =>
            list.items
              .map((i) => `${i.id}  ${String(i.channel).padEnd(16)} ${i.name}  ${i.profileName ?? ''}`)
              .join('\n') || '(no instances)',
        );
        return 0;
      }
      case 'create': {
        need(2);
        const inst = await api.call<Record<string, unknown>>('POST', '/instances', {
          name: args[0],
          channel: args[1],
        });
        print(inst, () => `${inst.id}  ${inst.channel}  ${inst.name}`);
        return 0;
      }
      case 'connect': {
        need(1);
        const token = values.token ?? io.env.OMNI_CONNECT_TOKEN;
        const inst = await api.call<Record<string, unknown>>(
          'POST',
          `/instances/${seg(args[0])}/connect`,
          token ? { token } : {},
        );
        print(inst, () => `${inst.id}  ${inst.connectionState}  ${inst.profileName ?? ''}`);
        return 0;
      }
      case 'profile': {
        need(1);
        const inst = await api.call<Record<string, unknown>>('GET', `/instances/${seg(args[0])}`);
        print(inst, () =>
          [
            `name:      ${inst.profileName ?? '-'}`,
            `avatar:    ${inst.profilePicUrl ?? '-'}`,
            `bio:       ${inst.profileBio ?? '-'}`,
            `synced at: ${inst.profileSyncedAt ?? 'never'}`,
            `metadata:  ${JSON.stringify(inst.profileMetadata ?? {})}`,
          ].join('\n'),
        );
        return 0;
      }
      case 'sync': {
        need(1);
        const body: Record<string, unknown> = values.plan ? { planId: values.plan } : { type: values.type };
        if (values.depth && !values.plan) body.depth = values.depth;
        if (values.channel) body.channelId = values.channel;
        if (values.media) body.downloadMedia = true;
        const job = await api.call<{ jobId: string; status: string; message?: string }>(
          'POST',
          `/instances/${seg(args[0])}/sync`,
          body,
        );
        io.out(`job ${job.jobId} ${job.status}${job.message ? ` — ${job.message}` : ''}`);
        if (values['no-follow'] || body.type === 'profile') return 0;
        return await follow(api, io, args[0]!, job.jobId);
      }
      case 'follow':
        need(2);
        return await follow(api, io, args[0]!, args[1]!);
      case 'jobs': {
        need(1);
        const query = values.status ? `?status=${encodeURIComponent(values.status)}` : '';
        const list = await api.call<{ items: Record<string, unknown>[] }>(
          'GET',
          `/instances/${seg(args[0])}/sync${query}`,
        );
        print(
          list,
          () =>
            list.items
              .map(
                (j) =>
                  `${j.jobId}  ${String(j.type).padEnd(9)} ${String(j.status).padEnd(10)} ${j.progressPercent ?? '?'}%  ${j.createdAt}`,
              )
              .join('\n') || '(no jobs)',
        );
        return 0;
      }
      case 'show': {
        need(2);
        const job = await api.call<JobView>('GET', `/instances/${seg(args[0])}/sync/${seg(args[1])}`);
        print(
          job,
          () =>
            `${job.jobId} ${job.type}\n${renderProgress(job)}${job.errorMessage ? `\nerror: ${job.errorMessage}` : ''}`,
        );
        return 0;
      }
      case 'plan': {
        need(1);
        const body: Record<string, unknown> = { type: values.type === 'catchup' ? 'catchup' : 'messages' };
        if (values.depth) body.depth = values.depth;
        const plan = await api.call<PlanView>('POST', `/instances/${args[0]}/sync/plan`, body);
        print(plan, () => renderPlan(plan).replace('<instanceId>', args[0]!));
        return 0;
      }
      case 'coverage': {
        need(1);
        const query = new URLSearchParams();
        if (values.depth) query.set('depth', values.depth);
        if (values.channel) query.set('chatId', values.channel);
        const q = query.size > 0 ? `?${query}` : '';
        const report = await api.call<CoverageView>('GET', `/instances/${seg(args[0])}/coverage${q}`);
        print(report, () => renderCoverage(report));
        return 0;
      }
      case 'cancel':
      case 'resume': {
        need(2);
        const job = await api.call<{ status: string }>(
          'POST',
          `/instances/${seg(args[0])}/sync/${seg(args[1])}/${command}`,
        );
        io.out(`job ${args[1]} ${job.status}`);
        return 0;
      }
      default:
        throw new UsageError(`unknown command "${command}"; see --help`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${error.message}\n`);
      return 2;
    }
    if (error instanceof ApiError) {
      io.err(`error ${error.status} ${error.code}: ${error.message}\n`);
      return 1;
    }
    io.err(`error: ${(error as Error).message}\n`);
    return 1;
  }
}

class UsageError extends Error {}

function readKeyFile(dataDir: string): string | undefined {
  const file = join(dataDir, 'api-key');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

/** Follows a job over SSE, redrawing the bar; falls back to polling if the stream breaks. */
async function follow(api: ApiClient, io: CliIo, instanceId: string, jobId: string): Promise<number> {
  const path = `/instances/${seg(instanceId)}/sync/${seg(jobId)}`;
  let last = '';
  const draw = (view: ProgressView) => {
    const line = renderProgress(view);
    if (line === last) return;
    last = line;
    io.err(io.isTty ? `\r\x1b[2K${line}` : `${line}\n`);
  };
  let job = await api.call<JobView>('GET', path);
  draw(job);
  if (!TERMINAL.has(job.status)) {
    try {
      let paused: PauseView | null = null;
      for await (const event of api.events(`${path}/events`)) {
        const data = event.data as Partial<JobView> & {
          progress?: JobProgress;
          type?: string;
          at?: string;
          until?: string;
          reason?: string;
        };
        if (event.event === 'sync.paused' && typeof data?.until === 'string') {
          paused = {
            until: data.until,
            reason: typeof data.reason === 'string' ? data.reason : 'rate limit',
          };
        } else if (paused && Date.parse(data?.at ?? '') >= Date.parse(paused.until)) {
          paused = null; // an event from after the pause: it is over
        }
        if (data && typeof data === 'object' && data.progress) {
          draw({
            status: data.status ?? job.status,
            progressPercent: data.progressPercent ?? job.progressPercent,
            progress: data.progress,
            paused,
          });
        }
        if (/(completed|failed|cancelled)$/.test(event.event) || TERMINAL.has(String(data?.status))) break;
      }
    } catch {
      // The stream broke (proxy, restart): poll instead.
    }
    job = await api.call<JobView>('GET', path);
    while (!TERMINAL.has(job.status)) {
      await Bun.sleep(1000);
      job = await api.call<JobView>('GET', path);
      draw(job);
    }
  }
  draw(job);
  if (io.isTty) io.err('\n');
  io.out(`job ${jobId} ${job.status}${job.errorMessage ? `: ${job.errorMessage}` : ''}`);
  return job.status === 'completed' ? 0 : 1;
}
