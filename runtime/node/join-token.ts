import { createHmac, timingSafeEqual } from 'node:crypto';

/** Longest lifetime a join token may have (`exp - iat`): a leaked token is worth little for long. */
export const MAX_TOKEN_LIFETIME_S = 600;
/** How far in the future a token's issue time may be, for clocks that disagree a little. */
const CLOCK_SKEW_S = 60;

/**
 * Join tokens: `<iat>.<exp>.<subject>.<jti>.<sig>`, where iat and exp are unix seconds, subject
 * (the player's name) and jti (an optional single-use id, empty for none) are base64url, and sig
 * is the HMAC-SHA256 of everything before it, base64url. A matchmaker that knows the server's
 * --join-secret mints one per seat; the server accepts only unexpired tokens with a valid
 * signature and a lifetime of at most MAX_TOKEN_LIFETIME_S, seats one connection per token at
 * a time, and accepts a token with a jti only once.
 */
export function mintJoinToken(secret: string, subject: string, ttlSeconds: number, nowMs = Date.now(), jti = ''): string {
  if (ttlSeconds > MAX_TOKEN_LIFETIME_S) throw new RangeError(`join token lifetime ${ttlSeconds} s exceeds ${MAX_TOKEN_LIFETIME_S} s`);
  const iat = Math.floor(nowMs / 1000);
  const body = `${iat}.${iat + ttlSeconds}.${Buffer.from(subject).toString('base64url')}.${Buffer.from(jti).toString('base64url')}`;
  return `${body}.${sign(secret, body)}`;
}

export type TokenCheck =
  | { ok: true; subject: string; /** Single-use id, '' for none. */ jti: string; /** Expiry, unix ms. */ expiresMs: number; /** The signature: what identifies the token. */ key: string }
  | { ok: false; reason: string };

export function verifyJoinToken(secret: string, token: string, nowMs = Date.now()): TokenCheck {
  const parts = token.split('.');
  if (parts.length !== 5) return { ok: false, reason: 'malformed token' };
  const [iat, exp, subject, jti, sig] = parts as [string, string, string, string, string];
  const expected = Buffer.from(sign(secret, `${iat}.${exp}.${subject}.${jti}`));
  const given = Buffer.from(sig);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'wrong signature' };
  if (!/^\d{1,12}$/.test(iat) || !/^\d{1,12}$/.test(exp)) return { ok: false, reason: 'malformed token' };
  const issued = Number(iat);
  const expires = Number(exp);
  if (expires * 1000 <= nowMs) return { ok: false, reason: 'expired' };
  if (expires - issued > MAX_TOKEN_LIFETIME_S) return { ok: false, reason: `lifetime over ${MAX_TOKEN_LIFETIME_S} s` };
  if ((issued - CLOCK_SKEW_S) * 1000 > nowMs) return { ok: false, reason: 'issued in the future' };
  return { ok: true, subject: Buffer.from(subject, 'base64url').toString(), jti: Buffer.from(jti, 'base64url').toString(), expiresMs: expires * 1000, key: sig };
}

function sign(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('base64url');
}
