/**
 * Loopback networking helpers for the benches. Everything connects to 127.0.0.1 only.
 *
 * Exports:
 *   HOST                        '127.0.0.1'
 *   isPortFree(port)            Promise<boolean>: a listener could bind it just now.
 *   freePort({ offsets })       Promise<number>: a port p where p + o is free for every o in
 *                               offsets (default [0]); e.g. [0, 1000] for a game port and its
 *                               default health port. Tries random ports in 20000-39999, 200 times.
 *   tryConnect(port, timeoutMs) Promise<boolean>: one TCP connect, closed at once.
 *   waitForPort(port, { timeoutMs, intervalMs, since, exited })
 *                               Polls tryConnect every intervalMs (default 2) until a connection
 *                               is accepted; resolves with the ms from `since` (a performance.now()
 *                               value, default the call) to that connect. Rejects after timeoutMs
 *                               (default 10000) or as soon as the `exited` promise settles.
 *   httpGet(port, path, timeoutMs, agent)
 *                               Promise<{ status, body, startedAt, endedAt }> (times from
 *                               performance.now()); rejects on error or timeout (default 2000).
 *                               agent: an http.Agent to reuse connections (see keepAliveAgent);
 *                               default none (a new connection per request).
 *   keepAliveAgent()            A keep-alive http.Agent with one socket, for polling an endpoint
 *                               at low latency; call its destroy() when done.
 */
import { createServer, connect } from 'node:net';
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

export const HOST = '127.0.0.1';

/** @param {number} port */
export function isPortFree(port) {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: HOST, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** @param {{ offsets?: number[] }} [opts] */
export async function freePort(opts = {}) {
  const offsets = opts.offsets ?? [0];
  for (let i = 0; i < 200; i++) {
    const p = 20000 + Math.floor(Math.random() * 20000);
    let ok = true;
    for (const o of offsets) {
      if (p + o > 65535 || !(await isPortFree(p + o))) {
        ok = false;
        break;
      }
    }
    if (ok) return p;
  }
  throw new Error('no free port found on 127.0.0.1');
}

/** @param {number} port @param {number} [timeoutMs] */
export function tryConnect(port, timeoutMs = 250) {
  return new Promise((resolve) => {
    const sock = connect({ port, host: HOST });
    const done = (ok) => {
      clearTimeout(timer);
      sock.removeAllListeners();
      sock.on('error', () => {});
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/**
 * @param {number} port
 * @param {{ timeoutMs?: number, intervalMs?: number, since?: number, exited?: Promise<unknown> }} [opts]
 */
export async function waitForPort(port, opts = {}) {
  const since = opts.since ?? performance.now();
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 2;
  let gone = false;
  opts.exited?.then(() => (gone = true));
  const maxTries = Math.ceil(timeoutMs / Math.max(1, intervalMs)) + 10;
  for (let i = 0; i < maxTries; i++) {
    if (await tryConnect(port)) return performance.now() - since;
    if (gone) throw new Error(`process exited before port ${port} accepted connections`);
    if (performance.now() - since > timeoutMs) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`port ${port} did not accept connections within ${timeoutMs} ms`);
}

export const keepAliveAgent = () => new Agent({ keepAlive: true, maxSockets: 1 });

/** @param {number} port @param {string} path @param {number} [timeoutMs] @param {Agent} [agent] */
export function httpGet(port, path, timeoutMs = 2000, agent = undefined) {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const req = request({ host: HOST, port, path, method: 'GET', agent: agent ?? false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, startedAt, endedAt: performance.now() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
