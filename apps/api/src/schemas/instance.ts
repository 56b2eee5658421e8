import { type Static, Type } from 'typebox';
import { JsonObject, NullableTimestamp, Timestamp, Uuid } from './common.ts';

/** Channel names as Omni's SDK spells them. */
export const ChannelName = Type.Union([
  Type.Literal('discord'),
  Type.Literal('whatsapp-baileys'),
  Type.Literal('slack'),
]);

/**
 * Instance fields of Omni's SDK that omni-sync stores and echoes but does not act on (it runs no
 * agents): accepted on create and update, checked for type, shown on every instance.
 */
export const OmniInstanceFields = {
  agentProviderId: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
  agentId: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
  agentTimeout: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400, description: 'seconds' })),
  agentStreamMode: Type.Optional(Type.Boolean()),
  agentReplyFilter: Type.Optional(Type.Union([JsonObject, Type.Null()])),
  agentSessionStrategy: Type.Optional(
    Type.Union([Type.Literal('per_user'), Type.Literal('per_chat'), Type.Literal('per_thread')]),
  ),
  agentPrefixSenderName: Type.Optional(Type.Boolean()),
  agentWaitForMedia: Type.Optional(Type.Boolean()),
  enableAutoSplit: Type.Optional(Type.Boolean()),
  messageFormatMode: Type.Optional(Type.Union([Type.Literal('convert'), Type.Literal('passthrough')])),
  isDefault: Type.Optional(Type.Boolean()),
  syncFullHistory: Type.Optional(Type.Boolean()),
  ttsVoiceId: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
  ttsModelId: Type.Optional(Type.Union([Type.String({ maxLength: 255 }), Type.Null()])),
};

/** An instance as the API shows it (never its credentials). */
export const Instance = Type.Object({
  id: Uuid,
  name: Type.String(),
  channel: ChannelName,
  isActive: Type.Boolean(),
  connectionState: Type.String(),
  isConnected: Type.Boolean({ description: 'credentials are stored' }),
  ownerIdentifier: Type.Union([Type.String(), Type.Null()]),
  profileName: Type.Union([Type.String(), Type.Null()]),
  profilePicUrl: Type.Union([Type.String(), Type.Null()]),
  profileBio: Type.Union([Type.String(), Type.Null()]),
  profileMetadata: Type.Union([JsonObject, Type.Null()]),
  profileSyncedAt: NullableTimestamp,
  downloadMediaOnSync: Type.Boolean(),
  agentProviderId: Type.Union([Type.String(), Type.Null()]),
  agentId: Type.Union([Type.String(), Type.Null()]),
  agentTimeout: Type.Integer({ description: 'seconds; stored, not acted on (default 600)' }),
  agentStreamMode: Type.Boolean(),
  isDefault: Type.Boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  ...Object.fromEntries(
    Object.entries(OmniInstanceFields).filter(
      ([k]) => !['agentProviderId', 'agentId', 'agentTimeout', 'agentStreamMode', 'isDefault'].includes(k),
    ),
  ),
});
export type InstanceDto = Static<typeof Instance>;

/** Body of `POST /instances`. */
export const CreateInstanceBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    channel: ChannelName,
    downloadMediaOnSync: Type.Optional(Type.Boolean()),
    ...OmniInstanceFields,
  },
  { additionalProperties: false },
);

/** Body of `PATCH /instances/:id`. */
export const UpdateInstanceBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    downloadMediaOnSync: Type.Optional(Type.Boolean()),
    isActive: Type.Optional(Type.Boolean()),
    ...OmniInstanceFields,
  },
  { additionalProperties: false, minProperties: 1 },
);

/** Body of `POST /instances/:id/connect`: Discord needs `token`; WhatsApp takes none (QR / pairing code). */
export const ConnectBody = Type.Object(
  {
    token: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        // A token travels in an Authorization header: printable ASCII without spaces, so a NUL or
        // a newline is a 400 here instead of a request the HTTP client refuses to send.
        pattern: '^[!-~]+$',
        description: 'Discord bot token (printable ASCII, no spaces)',
      }),
    ),
    forceNewQr: Type.Optional(
      Type.Boolean({ description: 'WhatsApp: forget the link first, so a new QR comes' }),
    ),
    whatsapp: Type.Optional(
      Type.Object(
        {
          syncFullHistory: Type.Optional(
            Type.Boolean({ description: 'accepted; history comes by sync jobs' }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** Answer of `POST /instances/:id/connect` and `/restart`: Omni's `{status, message}` with the instance. */
export const ConnectAnswer = Type.Intersect([
  Type.Object({
    instanceId: Uuid,
    status: Type.String({ description: 'connecting | qr | connected | restarting…' }),
    message: Type.String(),
  }),
  Type.Object({}, { additionalProperties: true }),
]);

/** Query of `GET /instances`: Omni's filters, comma lists. */
export const InstancesQuery = Type.Object(
  {
    channel: Type.Optional(Type.String({ maxLength: 200, description: 'channels, comma-separated' })),
    status: Type.Optional(
      Type.String({
        pattern: '^(active|inactive)(,(active|inactive))*$',
        description: 'active, inactive, comma-separated',
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
);

/** `GET /instances/:id/qr`. */
export const QrCode = Type.Object({
  qr: Type.Union([Type.String(), Type.Null()], {
    description: 'the QR payload; null when there is none now',
  }),
  dataUrl: Type.Union([Type.String(), Type.Null()], { description: 'the QR as a PNG data URL' }),
  expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  status: Type.String({ description: 'the WhatsApp connection state' }),
  message: Type.String(),
});

/** Body of `POST /instances/:id/pair`. */
export const PairBody = Type.Object(
  { phoneNumber: Type.String({ minLength: 6, maxLength: 32, pattern: '^[+0-9 ()-]+$' }) },
  { additionalProperties: false },
);

/** `POST /instances/:id/pair`. */
export const PairingCode = Type.Object({
  code: Type.String(),
  phoneNumber: Type.String(),
  message: Type.String(),
  expiresIn: Type.Integer({ description: 'seconds' }),
});

/** `GET /instances/:id/status`. */
export const InstanceStatus = Type.Object({
  state: Type.String(),
  isConnected: Type.Boolean(),
  profileName: Type.Union([Type.String(), Type.Null()]),
});

/** A synced profile. */
export const Profile = Type.Object({
  name: Type.Union([Type.String(), Type.Null()]),
  avatarUrl: Type.Union([Type.String(), Type.Null()]),
  bio: Type.Union([Type.String(), Type.Null()]),
  platformMetadata: Type.Union([JsonObject, Type.Null()]),
  syncedAt: NullableTimestamp,
});
