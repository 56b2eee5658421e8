import { type Static, Type } from 'typebox';
import { JsonObject, NullableTimestamp, Timestamp, Uuid } from './common.ts';

/** Channel names as Omni's SDK spells them. */
export const ChannelName = Type.Union([
  Type.Literal('discord'),
  Type.Literal('whatsapp-baileys'),
  Type.Literal('slack'),
]);

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
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type InstanceDto = Static<typeof Instance>;

/** Body of `POST /instances`. */
export const CreateInstanceBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    channel: ChannelName,
    downloadMediaOnSync: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/** Body of `PATCH /instances/:id`. */
export const UpdateInstanceBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    downloadMediaOnSync: Type.Optional(Type.Boolean()),
    isActive: Type.Optional(Type.Boolean()),
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
  },
  { additionalProperties: false },
);

/** `GET /instances/:id/qr`. */
export const QrCode = Type.Object({
  qr: Type.String({ description: 'the QR payload' }),
  dataUrl: Type.String({ description: 'the QR as a PNG data URL' }),
  expiresAt: Type.String({ format: 'date-time' }),
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
