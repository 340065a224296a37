// The Temporal Web UI tells an ENI's story: the demo's machinery (in this process, 2 nodes) converges the
// seeds' NodeENIs; in Chromium the workflow list finds one lifecycle per labelled node by the NodeENI search
// attribute (and by the other four), the history of one reads create -> attach -> configure in the activities'
// own words, and after the NodeENI is deleted the same history goes on with release -> detach -> delete.
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { parseArgs } from '../../dev/demo/args.js';
import { Demo, type ReadyReport } from '../../dev/demo/demo.js';
import { workflowsUrl } from '../../dev/demo/format.js';
import { REPO_ROOT } from '../../dev/stack/paths.js';
import { uniq } from '../support/env.js';
import { artifact, launchChromium } from './browser.js';

const CANONICAL = path.join(REPO_ROOT, 'docs', 'images', 'web-ui-lifecycle.png');

describe('Temporal Web UI: an ENI lifecycle a person can read', () => {
  const id = uniq('ui');
  const demoLines: string[] = [];
  const demo = new Demo(
    parseArgs(['--nodes', '2', '--keep-stack', '--task-queue', `multi-eni-controller-${id}`, '--selector', `demo-run=${id}`, '--node-group', `multi-eni-${id}`, '--name-suffix', id, '--cluster-name', id]),
    (l) => demoLines.push(l),
  );
  const cp = `control-plane-eni-${id}`;
  let report: ReadyReport;
  let browser: Browser;
  let page: Page;
  /** The history of nodeeni/<cp>/<node 0>, with its run ID, once found through the list. */
  let historyUrl: string;

  beforeAll(async () => {
    try {
      // The node agents run in this process; their log stays out of the test output.
      Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
    } catch {
      // a runtime is already installed in this worker
    }
    try {
      await demo.start();
      await demo.waitReady(150000);
      report = await demo.report();
    } catch (e) {
      throw new Error(`demo did not converge: ${e instanceof Error ? e.message : String(e)}\n${demoLines.slice(-40).join('\n')}`);
    }
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1600, height: 1300 } });
  }, 200000);

  afterAll(async () => {
    await browser?.close();
    await demo.stop();
  }, 180000);

  const ui = () => demo.state!.temporal.uiUrl;
  const ns = () => demo.state!.temporal.namespace;
  const node = (i: number) => demo.nodes[i]!;

  /** Workflow IDs listed for a visibility query in the Web UI (reloaded until `n` show, as visibility lags a little). */
  async function listed(query: string, n: number): Promise<string[]> {
    const deadline = Date.now() + 20000;
    for (;;) {
      await page.goto(workflowsUrl(ui(), ns(), query));
      const links = page.locator('a', { hasText: /nodeeni\// });
      await links.first().waitFor({ timeout: 15000 }).catch(() => undefined);
      const ids = (await links.allInnerTexts()).map((t) => t.trim());
      if (ids.length === n || Date.now() > deadline) return ids.sort();
      await page.waitForTimeout(1000);
    }
  }

  /** The compact event history (one row per activity, its type and summary), oldest first. */
  async function historyText(waitFor: string): Promise<string> {
    await page.goto(`${historyUrl}?sort=ascending`);
    await page.getByRole('button', { name: 'Compact' }).click();
    const table = page.locator('table').first();
    await table.getByText(waitFor, { exact: true }).first().waitFor({ timeout: 30000 });
    return table.innerText();
  }

  /** The Web UI renders summaries and details (markdown) in sandboxed frames: waits until one shows `text`. */
  async function inSomeFrame(text: string, timeoutMs = 15000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const f of page.frames()) {
        const body = await f.locator('body').innerText({ timeout: 1000 }).catch(() => '');
        if (body.includes(text)) return;
      }
      if (Date.now() > deadline) throw new Error(`no frame of ${page.url()} shows "${text}"`);
      await page.waitForTimeout(300);
    }
  }

  function inOrder(text: string, steps: string[]): number[] {
    return steps.map((s) => text.indexOf(s));
  }

  it('finds one workflow per labelled node by NodeENI="…", and one pair by all five search attributes', async () => {
    const ids = await listed(`NodeENI="${cp}"`, 2);
    expect(ids).toEqual([0, 1].map((i) => `nodeeni/${cp}/${node(i).name}`).sort());
    await page.screenshot({ path: artifact('web-ui-list.png') });

    // Every NodeENI on one node.
    expect(await listed(`NodeName="${node(0).name}"`, 4)).toHaveLength(4);
    // All five search attributes at once: exactly the pair that holds that ENI.
    const eni = report.enis.find((e) => e.TagSet?.some((t) => t.Key === 'NodeENI' && t.Value === cp) && e.TagSet?.some((t) => t.Key === 'Node' && t.Value === node(0).name))!;
    expect(eni.NetworkInterfaceId).toMatch(/^eni-/);
    const q = `NodeENI="${cp}" AND NodeName="${node(0).name}" AND InstanceId="${node(0).instance.id}" AND EniIds="${eni.NetworkInterfaceId}" AND EniPhase="Ready"`;
    expect(await listed(q, 1)).toEqual([`nodeeni/${cp}/${node(0).name}`]);
  }, 90000);

  it("opens one lifecycle: its summary, and a history that reads create -> attach -> configure", async () => {
    await page.goto(workflowsUrl(ui(), ns(), `NodeENI="${cp}"`));
    await page.getByRole('link', { name: `nodeeni/${cp}/${node(0).name}`, exact: true }).click();
    await page.waitForURL(/\/workflows\/[^/]+\/[0-9a-f-]{36}\//);
    const m = /^(.*\/workflows\/[^/]+\/[0-9a-f-]{36})\//.exec(page.url());
    expect(m).not.toBeNull();
    historyUrl = `${m![1]}/history`;

    const inst = node(0).instance.id;
    const subnet = demo.state!.seed.subnets[0]!.id;
    const eni = report.enis.find((e) => e.TagSet?.some((t) => t.Key === 'NodeENI' && t.Value === cp) && e.TagSet?.some((t) => t.Key === 'Node' && t.Value === node(0).name))!.NetworkInterfaceId!;

    // The workflow's own summary (set when the watcher starts it) and its current details.
    await page.goto(`${m![1]}/user-metadata`);
    await inSomeFrame(`ENIs of NodeENI ${cp} on node ${node(0).name} (${inst})`);
    await inSomeFrame('at rest: Ready');

    const text = await historyText('configureInterface');
    for (const s of [
      'createEni',
      `create ENI in ${subnet} (index 2) for ${node(0).name}`,
      'attachEni',
      `attach ${eni} at index 2 to ${node(0).name} (${inst})`,
      'configureInterface',
      `configure ${eni} MTU 9001 on ${node(0).name} (MAC `,
    ]) {
      expect(text).toContain(s);
    }
    const [create, attach, configure] = inOrder(text, ['createEni', 'attachEni', 'configureInterface']);
    expect(create).toBeLessThan(attach!);
    expect(attach).toBeLessThan(configure!);
    await page.screenshot({ path: artifact('web-ui-history-ready.png'), fullPage: true });
  }, 90000);

  it('after the NodeENI is deleted the same history goes on: release, detach, delete — and the workflow completes', async () => {
    expect(historyUrl).toBeDefined();
    const eni = report.enis.find((e) => e.TagSet?.some((t) => t.Key === 'NodeENI' && t.Value === cp) && e.TagSet?.some((t) => t.Key === 'Node' && t.Value === node(0).name))!.NetworkInterfaceId!;
    await demo.kubectl(['delete', 'nodeeni', cp, '--wait=false']);
    expect(await demo.waitGone([cp], 120000)).toEqual([]);

    const text = await historyText('deleteEni');
    for (const s of ['releaseInterface', 'detachEni', `detach ${eni} on ${node(0).name} (${node(0).instance.id})`, 'waitDetached', 'deleteEni', `delete ${eni} (${node(0).name}, `]) expect(text).toContain(s);
    const [configure, detach, del] = inOrder(text, ['configureInterface', 'detachEni', 'deleteEni']);
    expect(configure).toBeLessThan(detach!);
    expect(detach).toBeLessThan(del!);
    // The status badge (2.52's carries spaces around its text).
    await page.getByText(/^\s*completed\s*$/i).first().waitFor({ timeout: 15000 });

    // The story in one picture: the compact history, oldest first.
    await page.screenshot({ path: artifact('web-ui-history-released.png'), fullPage: true });
    // Tall enough for the whole story, and no hover tooltip in the picture.
    await page.setViewportSize({ width: 1920, height: 1700 });
    await page.mouse.move(1, 1);
    await page.waitForTimeout(500);
    const table = page.locator('table').first();
    await table.screenshot({ path: artifact('web-ui-lifecycle.png') });
    if (!fs.existsSync(CANONICAL) || process.env.MULTI_ENI_UPDATE_SCREENSHOT === '1') {
      fs.mkdirSync(path.dirname(CANONICAL), { recursive: true });
      fs.copyFileSync(artifact('web-ui-lifecycle.png'), CANONICAL);
    }
    expect(fs.statSync(artifact('web-ui-lifecycle.png')).size).toBeGreaterThan(10000);

    // Still findable afterwards by NodeENI: the completed lifecycles are the record.
    const after = await listed(`NodeENI="${cp}" AND ExecutionStatus="Completed"`, 2);
    expect(after).toEqual([0, 1].map((i) => `nodeeni/${cp}/${node(i).name}`).sort());
  }, 180000);
});
