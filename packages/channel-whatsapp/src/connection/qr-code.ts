import QRCode from 'qrcode';
import type { WhatsAppQrCode } from './connection-state.ts';

/** Renders a QR payload as a PNG data URL with its expiry (`now + ttlMs`). */
export async function renderQrCode(code: string, ttlMs: number, now = Date.now()): Promise<WhatsAppQrCode> {
  const dataUrl = await QRCode.toDataURL(code, { errorCorrectionLevel: 'L', margin: 2 });
  return { code, dataUrl, expiresAt: now + ttlMs };
}
