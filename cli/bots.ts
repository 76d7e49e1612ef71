import { Bot } from '../runtime/node/bot-client.js';
import { EXIT } from '../runtime/node/exit-codes.js';
import { mintJoinToken } from '../runtime/node/join-token.js';

export interface BotsOptions {
  url: string;
  count: string;
  duration: string;
  joinSecret?: string;
}

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};

/**
 * `keel bots`: N simulated players against a server for a while, then a summary. Bounded in
 * count and time; every socket is closed at the end.
 */
export async function runBots(opts: BotsOptions): Promise<number> {
  const count = Number(opts.count);
  const duration = Number(opts.duration);
  if (!Number.isInteger(count) || count < 1 || count > 1000) return usage(`--count must be an integer from 1 to 1000 (got "${opts.count}")`);
  if (!(duration > 0 && duration <= 3600)) return usage(`--duration must be seconds from 1 to 3600 (got "${opts.duration}")`);
  if (!/^wss?:\/\//.test(opts.url)) return usage(`--url must be a ws:// or wss:// URL (got "${opts.url}")`);

  const bots = Array.from(
    { length: count },
    (_, i) => new Bot({ url: opts.url, name: `bot-${i + 1}`, ...(opts.joinSecret ? { token: mintJoinToken(opts.joinSecret, `bot-${i + 1}`, 300) } : {}) }),
  );
  const t0 = performance.now();
  process.stderr.write(`bots: connecting ${count} to ${opts.url} for ${duration} s\n`);
  await Promise.all(bots.map((b, i) => new Promise((r) => setTimeout(r, i * 10)).then(() => b.start())));
  const joined = bots.filter((b) => b.stats.joined);
  const startedAt = performance.now();
  const progress = setInterval(() => {
    const s = (performance.now() - startedAt) / 1000;
    const snaps = joined.reduce((a, b) => a + b.stats.snapshots, 0);
    const bytes = joined.reduce((a, b) => a + b.stats.bytesIn, 0);
    const live = joined.filter((b) => b.stats.closeCode === null).length;
    process.stderr.write(`bots: ${s.toFixed(0)}/${duration} s  connected ${live}/${count}  snapshots ${snaps}  received ${(bytes / 1024).toFixed(0)} KiB\n`);
  }, 5000);
  await new Promise((r) => setTimeout(r, duration * 1000));
  clearInterval(progress);
  const elapsed = (performance.now() - startedAt) / 1000;
  await Promise.all(bots.map((b) => b.close()));

  const refused = bots.filter((b) => !b.stats.joined);
  const rtts = joined.flatMap((b) => b.stats.rttMs);
  const perBotBytes = joined.map((b) => b.stats.bytesIn / elapsed);
  const perBotSnaps = joined.map((b) => b.stats.snapshots / elapsed);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const rows: [string, string][] = [
    ['joined', `${joined.length}/${count}`],
    ['refused', `${refused.length}${refused.length ? ` (${[...new Set(refused.map((b) => b.stats.refused))].join('; ')})` : ''}`],
    ['malformed', `${joined.filter((b) => b.stats.malformed !== null).length}${joined.some((b) => b.stats.malformed) ? ` (${[...new Set(joined.flatMap((b) => (b.stats.malformed ? [b.stats.malformed] : [])))].join('; ')})` : ''}`],
    ['RTT p50 / p99', `${pct(rtts, 50).toFixed(2)} ms / ${pct(rtts, 99).toFixed(2)} ms (${rtts.length} pings)`],
    ['received per bot', `${(mean(perBotBytes) / 1024).toFixed(2)} KiB/s`],
    ['snapshots per bot', `${mean(perBotSnaps).toFixed(1)} /s`],
    ['duration', `${elapsed.toFixed(1)} s (total ${((performance.now() - t0) / 1000).toFixed(1)} s)`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(`\n${rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n')}\n`);
  return joined.length > 0 ? EXIT.ok : EXIT.error;
}

function usage(line: string): number {
  process.stderr.write(`keel bots: ${line}\n`);
  return EXIT.config;
}
