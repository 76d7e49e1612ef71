/**
 * keel admin protocol, version 1: JSON text frames over a WebSocket on the server's admin port
 * (off by default; `keel serve --admin-port`). It is an operator's and editor's channel, never the
 * game port's: it streams the live world, pauses and steps the loop, and applies edits to the
 * running world only.
 *
 * Authentication, one of (the first that is present wins):
 * - `Authorization: Bearer <token>` on the upgrade request (Node clients, curl, proxies);
 * - the subprotocol `keel-admin.token.<base64url(token)>` offered beside {@link ADMIN_SUBPROTOCOL}
 *   (browsers cannot set headers on a WebSocket; the subprotocol header is not logged by proxies
 *   or kept in history the way a URL is);
 * - `?token=<token>` in the URL (simplest, but URLs end up in logs and browser history);
 * - an `auth` message as the first frame, within {@link ADMIN_AUTH_TIMEOUT_MS}.
 * A wrong token is refused (401 at the upgrade, or close 4002 after an `auth` message).
 *
 * Client to server: {@link AdminClientMessage}. Server to client: {@link AdminServerMessage}.
 */
import type { SceneEdit } from '../edit/scene-edit.js';
import type { Quat, Vec3 } from '../math/vec.js';

export const ADMIN_PROTOCOL_VERSION = 1;
/** The subprotocol an admin client offers (and the server selects). */
export const ADMIN_SUBPROTOCOL = 'keel-admin.v1';
/** Prefix of the subprotocol that carries the token, base64url-encoded. */
export const ADMIN_TOKEN_SUBPROTOCOL_PREFIX = 'keel-admin.token.';
/** A client that did not authenticate at the upgrade must send `auth` within this long. */
export const ADMIN_AUTH_TIMEOUT_MS = 5000;
/** World frames per second: the default, and the bounds a client may ask for. */
export const ADMIN_STREAM_HZ = { default: 10, min: 1, max: 60 } as const;
/** Most ticks one `step` may ask for. */
export const ADMIN_MAX_STEP = 10_000;

/** Close codes of the admin channel. */
export const AdminCloseCode = {
  BadToken: 4002,
  Malformed: 4003,
  AuthTimeout: 4006,
} as const;

/** The subprotocol that carries `token` (base64url of its UTF-8 bytes: subprotocols allow few characters). */
export function adminTokenSubprotocol(token: string): string {
  const bytes = new TextEncoder().encode(token);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return ADMIN_TOKEN_SUBPROTOCOL_PREFIX + btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The token in a subprotocol made by {@link adminTokenSubprotocol}, or null. */
export function tokenFromSubprotocol(protocol: string): string | null {
  if (!protocol.startsWith(ADMIN_TOKEN_SUBPROTOCOL_PREFIX)) return null;
  try {
    const b64 = protocol.slice(ADMIN_TOKEN_SUBPROTOCOL_PREFIX.length).replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
}

export type AdminClientMessage =
  | { type: 'auth'; token: string }
  /**
   * Starts (or changes) the world stream: `hz` frames a second; `components` adds entities'
   * components: every entity's in the first frame, then only those that changed since.
   */
  | { type: 'subscribe'; hz?: number; components?: boolean; physics?: boolean }
  | { type: 'unsubscribe' }
  | { type: 'pause' }
  | { type: 'resume' }
  /** Runs exactly `ticks` ticks (default 1) on a paused loop, then stays paused. */
  | { type: 'step'; ticks?: number }
  /** Applies a scene edit to the live world only (the file is not touched). `id` comes back in the result. */
  | { type: 'edit'; id?: number; edit: SceneEdit }
  /** One physics debug frame: bodies with their sleep state and the contact points. */
  | { type: 'physics' };

export interface AdminEntity {
  id: string;
  name: string;
  parent: string | null;
  position: Vec3;
  rotation: Quat;
  /** Present for entities with a physics body. */
  velocity?: Vec3;
  sleeping?: boolean;
  /**
   * When the stream was asked for components: present in the first frame after `subscribe`,
   * then only when they changed since the frame before (keep the last ones seen).
   */
  components?: Record<string, unknown>;
}

export interface AdminPhysicsView {
  tick: number;
  bodies: { id: string; type: string; position: Vec3; sleeping: boolean }[];
  /** World-space points where bodies touch (engines that cannot say send none). */
  contacts: { a: string; b: string; point: Vec3 }[];
}

export interface AdminScriptError {
  entity: string;
  script: string;
  hook: string;
  message: string;
  /** Where it was thrown, from the stack, when the stack names the script's file. */
  file: string | null;
  line: number | null;
  tick: number;
}

export type AdminServerMessage =
  | {
      type: 'hello';
      protocol: number;
      instance: string;
      world: string;
      scene: string;
      sceneHash: string;
      tickRate: number;
      tick: number;
      paused: boolean;
    }
  | { type: 'world'; tick: number; paused: boolean; entities: AdminEntity[]; physics?: AdminPhysicsView }
  | { type: 'loop'; tick: number; paused: boolean; pendingSteps: number }
  | { type: 'editResult'; id: number | null; ok: boolean; error?: string }
  | ({ type: 'physics' } & AdminPhysicsView)
  | ({ type: 'scriptError' } & AdminScriptError)
  /** The request could not be carried out (the connection stays open). */
  | { type: 'error'; message: string };

/** Parses one admin client frame; returns the message or why it is not one. */
export function parseAdminClientMessage(text: string): AdminClientMessage | string {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'must be a JSON object';
  const m = v as Record<string, unknown>;
  switch (m.type) {
    case 'auth':
      return typeof m.token === 'string' ? { type: 'auth', token: m.token } : 'auth needs a token string';
    case 'subscribe': {
      if (m.hz !== undefined && (typeof m.hz !== 'number' || !(m.hz >= ADMIN_STREAM_HZ.min && m.hz <= ADMIN_STREAM_HZ.max))) {
        return `subscribe: hz must be a number from ${ADMIN_STREAM_HZ.min} to ${ADMIN_STREAM_HZ.max}`;
      }
      return { type: 'subscribe', ...(m.hz !== undefined ? { hz: m.hz as number } : {}), components: m.components === true, physics: m.physics === true };
    }
    case 'unsubscribe':
    case 'pause':
    case 'resume':
    case 'physics':
      return { type: m.type };
    case 'step': {
      const n = m.ticks ?? 1;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > ADMIN_MAX_STEP) return `step: ticks must be a whole number from 1 to ${ADMIN_MAX_STEP}`;
      return { type: 'step', ticks: n };
    }
    case 'edit': {
      if (m.id !== undefined && (typeof m.id !== 'number' || !Number.isSafeInteger(m.id))) return 'edit: id must be an integer';
      if (typeof m.edit !== 'object' || m.edit === null) return 'edit needs an edit object';
      return { type: 'edit', ...(m.id !== undefined ? { id: m.id as number } : {}), edit: m.edit as SceneEdit };
    }
    default:
      return `unknown message type ${JSON.stringify(m.type)}`;
  }
}
