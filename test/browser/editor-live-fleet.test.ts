/**
 * The editor's fleet picker against a real `keel fleet --admin-base-port` (process mode, two
 * instances, one admin token shared through SERVER_ADMIN_TOKEN): the status listener reports
 * each instance's admin port; the Attach dialog lists the instances from it and attaches to the
 * chosen one, whose live world then streams (its instance id shown); a fleet without admin
 * ports says so. Config errors: --admin-base-port without a token, or overlapping the game ports,
 * is one line naming the flag, exit 2.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runKeel } from '../helpers/keel-process.js';
import { TempDirs } from '../helpers/wait.js';
import { put, scene } from '../cli/util.js';
import { consecutivePorts, fleetPorts, getJson, HOST, startFleet, stopFleets, until } from '../fleet/util.js';
import { openScene, startEditor, type EditorHarness } from './editor-harness.js';

const TOKEN = 'fleet-admin-token-0123456789';
const temps = new TempDirs('keel-editor-live-fleet-');
let h: EditorHarness;
let file = '';

beforeAll(async () => {
  h = await startEditor(await temps.make());
  const dir = await temps.make();
  file = await put(dir, 'fleetscene.json', scene('fleetscene', [
    { id: 'ground', components: { transform: { position: [0, -0.5, 0] }, rigidBody: { type: 'static' }, collider: { shape: 'box', size: [20, 1, 20] } } },
    { id: 'crate', components: { transform: { position: [0, 3, 0] }, rigidBody: { type: 'dynamic', mass: 1 }, collider: { shape: 'box', size: [1, 1, 1] } } },
  ]));
}, 120_000);
afterEach(async (ctx) => {
  if (ctx.task.result?.state === 'fail') await h.keep(ctx.task.name);
  await stopFleets();
});
afterAll(async () => {
  await h?.close();
  await temps.cleanup();
});

async function fleet(admin: boolean) {
  const p = await fleetPorts(2);
  let adminBase = await consecutivePorts(2);
  while ([p.base, p.health, p.status].some((b) => adminBase <= b + 1 && b <= adminBase + 1)) adminBase = await consecutivePorts(2);
  const f = startFleet(
    [file, '--mode', 'process', '--count', '2', '--base-port', String(p.base), '--health-base-port', String(p.health), '--status-port', String(p.status), '--host', HOST, '--log-format', 'json', '--no-watch',
      ...(admin ? ['--admin-base-port', String(adminBase)] : [])],
    admin ? { SERVER_ADMIN_TOKEN: TOKEN, SERVER_ADMIN_ORIGIN: h.url } : {},
  );
  const statusUrl = `http://${HOST}:${p.status}`;
  await until(async () => ((await getJson(`${statusUrl}/status`))?.healthy === 2 ? true : undefined), `both instances healthy\n${f.output()}`, 60_000, 200);
  return { statusUrl, adminBase };
}

describe('editor: attach to a fleet instance', () => {
  it('lists a fleet’s instances with their admin ports and attaches to the one picked', async () => {
    const f = await fleet(true);
    const s = (await getJson(`${f.statusUrl}/status`))!;
    expect(s.instances.map((i: { adminPort: number }) => i.adminPort)).toEqual([f.adminBase, f.adminBase + 1]);

    const p = h.page;
    await openScene(h, 'arena');
    await p.click('[data-action="attach"]');
    // Served by a plain dev server (not `npm start`): no dev-server instance to offer.
    expect(await p.locator('[data-action="attach-dev"]').count()).toBe(0);
    await p.fill('.live-dialog input[name="fleet"]', f.statusUrl);
    await p.fill('.live-dialog input[name="token"]', TOKEN);
    await p.click('[data-action="list-fleet"]');
    await p.locator('[data-fleet-instance="Instance-02"]').waitFor({ timeout: 10_000 });
    expect(await p.locator('[data-fleet-instance]').count()).toBe(2);
    expect(await p.locator('[data-fleet-instance="Instance-02"]').textContent()).toContain(`ws://${HOST}:${f.adminBase + 1}`);

    await p.click('[data-fleet-instance="Instance-02"] [data-action="pick-instance"]');
    await p.locator('.live-panel').waitFor({ timeout: 15_000 });
    expect(await p.locator('.live-where').getAttribute('title')).toContain('instance Instance-02');
    expect(await p.locator('.live-where').textContent()).toContain(`ws://${HOST}:${f.adminBase + 1}`);
    await p.locator('[data-live-entity="crate"]').waitFor({ timeout: 15_000 });
    const t0 = Number(await p.locator('.live-panel').getAttribute('data-live-tick'));
    await until(async () => (Number(await p.locator('.live-panel').getAttribute('data-live-tick')) > t0 + 20 ? true : undefined), 'the instance’s tick to stream', 15_000);
    await p.click('[data-action="detach"]');
    expect(h.errors).toEqual([]);
  }, 150_000);

  it('says when a fleet runs without admin ports', async () => {
    const f = await fleet(false);
    expect((await getJson(`${f.statusUrl}/status`))!.instances.map((i: { adminPort: unknown }) => i.adminPort)).toEqual([null, null]);
    const p = h.page;
    await openScene(h, 'arena');
    await p.click('[data-action="attach"]');
    await p.fill('.live-dialog input[name="fleet"]', f.statusUrl);
    await p.click('[data-action="list-fleet"]');
    await p.locator('[data-fleet-instance="Instance-01"]').waitFor({ timeout: 10_000 });
    expect(await p.locator('[data-fleet-instance="Instance-01"]').textContent()).toContain('no admin port');
    expect(await p.locator('.live-fleet .live-problem').textContent()).toContain('--admin-base-port');
    expect(await p.locator('[data-action="pick-instance"]').count()).toBe(0);
  }, 150_000);

  it('refuses --admin-base-port without a token or on the game ports, naming the flag', async () => {
    const noToken = await runKeel(['fleet', file, '--count', '2', '--base-port', '7100', '--admin-base-port', '7300'], { env: { SERVER_ADMIN_TOKEN: undefined } });
    expect(noToken.code, noToken.stderr).toBe(2);
    expect(noToken.stderr).toMatch(/^keel fleet: invalid --admin-base-port "7300": .*SERVER_ADMIN_TOKEN[^\n]*\n$/);
    const overlap = await runKeel(['fleet', file, '--count', '2', '--base-port', '7100', '--admin-base-port', '7101'], { env: { SERVER_ADMIN_TOKEN: TOKEN } });
    expect(overlap.code, overlap.stderr).toBe(2);
    expect(overlap.stderr).toMatch(/^keel fleet: invalid --admin-base-port "7101": admin ports 7101-7102 overlap the game ports 7100-7101\n$/);
  }, 60_000);
});
