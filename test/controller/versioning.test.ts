// The versioning policy (README, "Versioning policy") on the dev server, with two controller builds in turn:
// - build 1 is this checkout's dist/; build 2 is a copy of it whose lifecycle workflow changed the way the policy
//   says a change must be made: the new step behind patched(), here a 1 s timer at the start of every converge pass;
// - lifecycles started by build 1 continue on build 2: the ENIs they made are kept, a spec change converges on the
//   new code (its patch marker in the history, once per pass after the switch), nothing is created twice;
// - the replay gate is what holds the policy: build 2's bundle replays the histories build 1 wrote, and the same
//   change without patched() (build 2u) is refused by it.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../dev/stack/paths.js';
import { lifecycleWorkflowId } from '../../common/names.js';
import type { TestCluster } from '../support/cluster.js';
import { afterTest, callsSince, cleanUp, deleteAndExpectNoLeak, enisOf, expectOneEniPerSubnet, newCluster, nodeENI } from '../support/crash.js';
import { stack, uniq } from '../support/env.js';
import { proxy } from '../support/proxy.js';

const run = promisify(execFile);
const PATCH_ID = 'versioning-test-converge-timer';
const subnets = () => [stack().seed.subnets[0]!.id, stack().seed.subnets[1]!.id];

/**
 * A second build of the controller: a copy of dist/ (with the package.json that makes it ESM and this checkout's
 * node_modules) whose compiled lifecycle workflow starts each converge pass with `step`, bundled as `npm run build`
 * bundles it.
 */
async function secondBuild(name: string, step: string): Promise<string> {
  const root = path.join(stack().dir, 'versioning', name);
  fs.rmSync(root, { recursive: true, force: true });
  fs.mkdirSync(root, { recursive: true });
  fs.cpSync(path.join(REPO_ROOT, 'dist'), path.join(root, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(root, 'package.json'));
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'));
  const file = path.join(root, 'dist', 'workflows', 'pair-lifecycle.js');
  const js = fs.readFileSync(file, 'utf8');
  const anchor = '    async converge() {\n';
  if (!js.includes(anchor)) throw new Error(`${file}: no "async converge() {" to change (the workflow was restructured: update this test)`);
  const changed = `import { patched as versioningPatched, sleep as versioningSleep } from '@temporalio/workflow';\n${js.replace(anchor, `${anchor}        ${step}\n`)}`;
  fs.writeFileSync(file, changed);
  await run(process.execPath, [path.join(root, 'dist', 'dev', 'scripts', 'bundle-workflows.js')], { cwd: root, timeout: 120000 });
  return root;
}

/** A build's replay gate (dist/dev/scripts/replay-histories.js against its own bundle) over the given histories. */
async function replayGate(root: string, files: string[]): Promise<{ code: number; out: string }> {
  return run(process.execPath, [path.join(root, 'dist', 'dev', 'scripts', 'replay-histories.js'), ...files], { timeout: 120000 }).then(
    (r) => ({ code: 0, out: r.stdout }),
    (e: { code?: number; stdout?: string }) => ({ code: e.code ?? -1, out: e.stdout ?? '' }),
  );
}

type History = { events: { eventType: string; markerRecordedEventAttributes?: unknown }[] };

async function showHistory(workflowId: string): Promise<History> {
  const s = stack();
  const args = ['workflow', 'show', '--address', s.temporal.address, '--namespace', s.temporal.namespace, '--workflow-id', workflowId, '--output', 'json'];
  return JSON.parse((await run(path.join(s.bin, 'temporal'), args, { maxBuffer: 64 << 20 })).stdout) as History;
}

/** The patch markers of PATCH_ID in a history: the SDK's `core_patch` marker carries {id, deprecated} as a JSON payload. */
function patchMarkers(h: History): number {
  return h.events.filter((e) => {
    const a = e.markerRecordedEventAttributes as { markerName?: string; details?: Record<string, { payloads?: { data?: string }[] }> } | undefined;
    if (e.eventType !== 'EVENT_TYPE_MARKER_RECORDED' || a?.markerName !== 'core_patch') return false;
    const payloads = Object.values(a.details ?? {}).flatMap((d) => d.payloads ?? []);
    return payloads.some((p) => (JSON.parse(Buffer.from(p.data ?? '', 'base64').toString('utf8') || '{}') as { id?: string }).id === PATCH_ID);
  }).length;
}

describe('two controller builds in turn: a patched workflow change reaches lifecycles in flight', () => {
  let c: TestCluster;
  let current: string | undefined;
  let patchedBuild: string;
  let unpatchedBuild: string;
  beforeAll(async () => {
    [patchedBuild, unpatchedBuild] = await Promise.all([
      secondBuild('build-2', `if (versioningPatched(${JSON.stringify(PATCH_ID)})) await versioningSleep(1000);`),
      secondBuild('build-2u', 'await versioningSleep(1000);'),
    ]);
    c = await newCluster(2);
  }, 240000);
  afterEach(() => afterTest(c, current), 200000);
  afterAll(() => cleanUp(c), 300000);

  it('lifecycles of build 1 continue on build 2: ENIs kept, the spec change converges on the new code, nothing created twice; the gate refuses the unpatched change', async () => {
    const name = (current = uniq('versioning'));
    const [first, second] = subnets();
    await c.apply(nodeENI(c, name, [first!]));
    const before = await expectOneEniPerSubnet(c, await c.waitReady(name, 2, 120000), [first!]);
    const ids = c.nodes.map((n) => lifecycleWorkflowId(name, n.name));

    // The histories build 1 wrote, as an operator exports them before an upgrade: build 2's gate passes them, the
    // unpatched change fails them (its timer where build 1 scheduled an activity).
    const dir = path.join(stack().dir, 'versioning', 'histories');
    fs.mkdirSync(dir, { recursive: true });
    const files = await Promise.all(
      ids.map(async (id, i) => {
        const f = path.join(dir, `${name}-${i}.json`);
        fs.writeFileSync(f, JSON.stringify(await showHistory(id)));
        return f;
      }),
    );
    const gate = await replayGate(patchedBuild, files);
    expect(gate.out.match(/^ok /gm)).toHaveLength(files.length);
    expect(gate.code).toBe(0);
    const refused = await replayGate(unpatchedBuild, files);
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/FAILED .*DeterminismViolationError/);
    for (const id of ids) expect(patchMarkers(await showHistory(id))).toBe(0);

    // The rollout: build 1 stops (as a Deployment's old pod does), build 2 starts on the same task queues.
    await c.controller.stop();
    c.controller.start({}, path.join(patchedBuild, 'dist'));
    const mark = (await proxy.calls()).total;
    await c.patchSpec(name, { subnetIDs: [first, second] });
    const after = await expectOneEniPerSubnet(c, await c.waitReady(name, 4, 180000), [first!, second!]);

    // The first subnet's ENIs are build 1's, attached as they were; the second subnet's were made once each.
    for (const n of c.nodes) {
      const was = before.get(`${n.name}/${first}`)!;
      expect(after.get(`${n.name}/${first}`)).toMatchObject({ NetworkInterfaceId: was.NetworkInterfaceId, Attachment: { AttachmentId: was.Attachment!.AttachmentId } });
    }
    const creates = (await callsSince(mark)).filter((r) => r.action === 'CreateNetworkInterface' && r.outcome === 'ok');
    expect(creates.map((r) => r.params.SubnetId)).toEqual([second, second]);
    expect(await enisOf(c, name)).toHaveLength(4);
    // Build 2 ran the pass after the switch on its new code: the marker is in each history, and no task failed.
    for (const id of ids) {
      const h = await showHistory(id);
      expect(patchMarkers(h)).toBeGreaterThanOrEqual(1);
      expect(h.events.filter((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_FAILED')).toEqual([]);
    }
    await deleteAndExpectNoLeak(c, name);
    current = undefined;
  }, 600000);
});
