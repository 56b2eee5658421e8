import { expect } from 'bun:test';

/**
 * What a field must hold: a JSON type, optionally `|null`, or `?` for "may be absent". Written
 * from the types of Omni's SDK (`packages/sdk/src/client.ts` of automagik-dev/omni), in this
 * repository's words: the fields its dashboard reads.
 */
type FieldType = 'string' | 'number' | 'boolean' | 'object' | 'array';
type Field = FieldType | `${FieldType}|null` | `${FieldType}?` | `${FieldType}|null?`;

/** Shapes of the SDK's types, field by field. */
export const SDK = {
  AuthValidateResponse: { valid: 'boolean', keyPrefix: 'string', keyName: 'string', scopes: 'array' },
  HealthResponse: {
    status: 'string',
    version: 'string',
    uptime: 'number',
    timestamp: 'string',
    checks: 'object',
  },
  Instance: {
    id: 'string',
    name: 'string',
    channel: 'string',
    isActive: 'boolean',
    isDefault: 'boolean',
    profileName: 'string|null',
    profilePicUrl: 'string|null',
    ownerIdentifier: 'string|null',
    agentProviderId: 'string|null',
    agentId: 'string|null',
    agentTimeout: 'number',
    agentStreamMode: 'boolean',
    createdAt: 'string',
    updatedAt: 'string',
  },
  ConnectResult: { status: 'string', message: 'string' },
  QrResult: { qr: 'string|null', expiresAt: 'string|null', message: 'string' },
  SyncJobCreated: {
    jobId: 'string',
    instanceId: 'string',
    type: 'string',
    status: 'string',
    config: 'object',
    message: 'string',
  },
  SyncJobSummary: {
    jobId: 'string',
    type: 'string',
    status: 'string',
    progressPercent: 'number|null?',
    createdAt: 'string',
    completedAt: 'string|null?',
  },
  SyncJobStatus: {
    jobId: 'string',
    instanceId: 'string',
    type: 'string',
    status: 'string',
    config: 'object',
    progress: 'object|null?',
    progressPercent: 'number|null?',
    errorMessage: 'string|null?',
    createdAt: 'string',
    startedAt: 'string|null?',
    completedAt: 'string|null?',
  },
  PaginationMeta: { hasMore: 'boolean', cursor: 'string|null?' },
  Chat: {
    id: 'string',
    instanceId: 'string',
    externalId: 'string',
    chatType: 'string',
    channel: 'string',
    name: 'string|null?',
    description: 'string|null?',
    avatarUrl: 'string|null?',
    isGroup: 'boolean?',
    isArchived: 'boolean',
    lastMessageAt: 'string|null',
    createdAt: 'string',
    updatedAt: 'string',
  },
  Message: {
    id: 'string',
    chatId: 'string',
    externalId: 'string',
    source: 'string',
    messageType: 'string',
    textContent: 'string|null?',
    platformTimestamp: 'string',
    isFromMe: 'boolean?',
    senderPlatformUserId: 'string|null',
    hasMedia: 'boolean',
    mediaMimeType: 'string|null',
    mediaUrl: 'string|null',
    createdAt: 'string',
    updatedAt: 'string',
  },
  ChatParticipant: {
    id: 'string',
    chatId: 'string',
    platformUserId: 'string',
    displayName: 'string|null?',
    avatarUrl: 'string|null?',
    role: 'string|null?',
    createdAt: 'string',
    updatedAt: 'string',
  },
  Contact: {
    platformUserId: 'string',
    displayName: 'string|null?',
    phone: 'string|null?',
    avatarUrl: 'string|null?',
    isGroup: 'boolean',
    isBusiness: 'boolean?',
    platformMetadata: 'object?',
  },
  DirectoryMeta: { totalFetched: 'number', hasMore: 'boolean', cursor: 'string|null?' },
  Group: {
    externalId: 'string',
    name: 'string|null?',
    description: 'string|null?',
    memberCount: 'number|null?',
    createdAt: 'string?',
    avatarUrl: 'string|null?',
    platformMetadata: 'object|null?',
  },
  Setting: {
    key: 'string',
    value: 'any',
    category: 'string',
    isSecret: 'boolean',
    description: 'string',
    createdAt: 'string|null',
    updatedAt: 'string|null',
  },
  Event: { id: 'string', eventType: 'string', instanceId: 'string', receivedAt: 'string' },
  Resync: { jobId: 'string', since: 'string' },
} as const satisfies Record<string, Record<string, Field | 'any'>>;

const typeOf = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;

/** Fails with the first field of `value` that does not hold what `shape` says. */
export function expectShape(value: unknown, shape: Record<string, string>, label = 'value'): void {
  expect(typeOf(value)).toBe('object');
  const record = value as Record<string, unknown>;
  for (const [field, rule] of Object.entries(shape)) {
    if (rule === 'any') {
      expect(field in record, `${label}.${field} present`).toBe(true);
      continue;
    }
    const optional = rule.endsWith('?');
    const [type, nullable] = rule.replace('?', '').split('|');
    if (!(field in record) || record[field] === undefined) {
      expect(optional, `${label}.${field} is missing`).toBe(true);
      continue;
    }
    const actual = typeOf(record[field]);
    const allowed = nullable ? [type, 'null'] : [type];
    expect(allowed, `${label}.${field} is ${actual}`).toContain(actual);
  }
}
