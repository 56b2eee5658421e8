import type { SyncDepth } from '@omni/db';
import { ApiError } from '../errors/api-error.ts';

/** The selection a plan answered for, carried by its `planId` (nothing is stored). */
export interface PlanSelection {
  instanceId: string;
  type: 'messages' | 'catchup';
  depth: SyncDepth;
  /** The chats the plan would fetch. */
  chatIds: string[];
  /** The plan's window end, UTC ms. */
  until: number;
  /** The plan's estimate (probes included), carried into the job's `estimatedTotal`. */
  estimate?: { messages: number; unestimatedChatIds: string[] };
}

const DEPTHS = new Set(['7d', '30d', '90d', '1y', 'all']);

/** Encodes a selection as an opaque `planId` (base64url JSON). */
export function encodePlanId(s: PlanSelection): string {
  const estimate = s.estimate ? [[s.estimate.messages, s.estimate.unestimatedChatIds]] : [];
  return Buffer.from(
    JSON.stringify([s.instanceId, s.type, s.depth, s.chatIds, s.until, ...estimate]),
  ).toString('base64url');
}

/** Decodes a `planId` for `instanceId`; a 400 for anything else. */
export function decodePlanId(planId: string, instanceId: string): PlanSelection {
  const bad = () =>
    ApiError.validation('planId is not a plan of this instance', [{ in: 'body', path: '/planId' }]);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(planId, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(value) || (value.length !== 5 && value.length !== 6)) throw bad();
  const [id, type, depth, chatIds, until, estimate] = value as unknown[];
  if (
    id !== instanceId ||
    (type !== 'messages' && type !== 'catchup') ||
    typeof depth !== 'string' ||
    !DEPTHS.has(depth) ||
    !Array.isArray(chatIds) ||
    chatIds.length > 10_000 ||
    !chatIds.every((c) => typeof c === 'string' && c.length > 0 && c.length <= 255) ||
    typeof until !== 'number' ||
    !Number.isFinite(until)
  ) {
    throw bad();
  }
  const selection: PlanSelection = {
    instanceId: id,
    type,
    depth: depth as SyncDepth,
    chatIds: chatIds as string[],
    until,
  };
  if (estimate === undefined) return selection;
  const [messages, unestimated] = Array.isArray(estimate) ? (estimate as unknown[]) : [];
  if (
    typeof messages !== 'number' ||
    !Number.isSafeInteger(messages) ||
    messages < 0 ||
    !Array.isArray(unestimated) ||
    !unestimated.every((c) => typeof c === 'string' && (chatIds as string[]).includes(c))
  ) {
    throw bad();
  }
  return { ...selection, estimate: { messages, unestimatedChatIds: unestimated as string[] } };
}
