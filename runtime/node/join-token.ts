import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Join tokens: `<expiry unix s>.<subject, base64url>.<HMAC-SHA256 of the first two, base64url>`.
 * A matchmaker that knows the server's --join-secret mints one per seat; the server accepts
 * only unexpired tokens with a valid signature.
 */
export function mintJoinToken(secret: string, subject: string, ttlSeconds: number, nowMs = Date.now()): string {
  const body = `${Math.floor(nowMs / 1000) + ttlSeconds}.${Buffer.from(subject).toString('base64url')}`;
  return `${body}.${sign(secret, body)}`;
}

export type TokenCheck = { ok: true; subject: string } | { ok: false; reason: string };

export function verifyJoinToken(secret: string, token: string, nowMs = Date.now()): TokenCheck {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'malformed token' };
  const [expiry, subject, sig] = parts as [string, string, string];
  const expected = Buffer.from(sign(secret, `${expiry}.${subject}`));
  const given = Buffer.from(sig);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'wrong signature' };
  if (!/^\d+$/.test(expiry) || Number(expiry) * 1000 <= nowMs) return { ok: false, reason: 'expired' };
  return { ok: true, subject: Buffer.from(subject, 'base64url').toString() };
}

function sign(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('base64url');
}
