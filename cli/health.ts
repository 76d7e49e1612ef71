import { DEFAULT_PORT, HEALTH_PORT_OFFSET } from '../runtime/node/config.js';
import { EXIT } from '../runtime/node/exit-codes.js';

/**
 * `keel health`: one HTTP GET against an instance's health endpoint, exit 0 on 2xx. It uses
 * the same env vars as `keel serve`, so a container's HEALTHCHECK is just `keel health`.
 */
export async function probe(endpoint: string, opts: { url?: string; timeoutMs: string }, env: NodeJS.ProcessEnv): Promise<number> {
  if (!['livez', 'readyz', 'healthz'].includes(endpoint)) {
    process.stderr.write(`keel health: endpoint must be livez, readyz or healthz (got "${endpoint}")\n`);
    return EXIT.config;
  }
  const gamePort = Number(env.SERVER_PORT ?? DEFAULT_PORT);
  const port = env.SERVER_HEALTH_PORT ?? String(gamePort + HEALTH_PORT_OFFSET);
  if (port === '0') {
    process.stderr.write('keel health: SERVER_HEALTH_PORT is 0, the health listener is disabled\n');
    return EXIT.config;
  }
  const url = opts.url ?? `http://127.0.0.1:${port}/${endpoint}`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(Number(opts.timeoutMs) || 2000) });
    const body = await res.text();
    process.stdout.write(`${res.status} ${body}\n`);
    return res.ok ? EXIT.ok : EXIT.error;
  } catch (err) {
    process.stderr.write(`keel health: ${url}: ${(err as Error).message}\n`);
    return EXIT.error;
  }
}
