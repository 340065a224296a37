// One benchmark run: N nodes, two NodeENIs (one with two subnets: 3 ENIs per node), applied at once;
// measured until every attachment is Ready, then at rest, then torn down until every ENI is deleted.
// Everything it makes is scoped by a run ID (task queue, sweep schedule, cluster tag, NodeENI label and
// node label) and removed at the end, so tests sharing the stack see none of it.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { DescribeNetworkInterfacesCommand, TerminateInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { API_GROUP, API_VERSION, NODEENI_PLURAL, TAG_CLUSTER, WORKFLOW_TYPE_FLEET, WORKFLOW_TYPE_LIFECYCLE } from '../../common/names.js';
import type { AttachmentStatus, NodeENI } from '../../common/nodeeni.js';
import { NODEENI_ATTACHMENT_PLURAL, type NodeENIAttachment } from '../../common/nodeeni-attachment.js';
import type { BucketSpec } from '../stack/ec2-buckets.js';
import { runInstances } from '../stack/seed.js';
import { REPO_ROOT } from '../stack/paths.js';
import { sleep } from '../stack/processes.js';
import { readState, stackEnv, type StackState } from '../stack/stack.js';
import { SimulatedNode } from '../stack/sim/simulated-node.js';
import { CLUSTER_COMPONENTS, clusterPorts, pgWrites, type PgWrites, type TemporalMode } from '../stack/temporal-cluster.js';
import { countActions, phaseTally, type Tally, type Window } from './actions.js';
import { BENCH_AZ, BENCH_INSTANCE_TYPE, BENCH_MAX_ENIS, freePorts, startChild, stopChild, type Child, type PrivateEc2, type ProxyCalls } from './ec2-env.js';
import { ec2BucketBound, joinFloor, type Ec2Bound, type EniSteps } from './ec2-bound.js';
import { FleetAgent, type FleetNode } from './fleet-agent.js';
import { ProcWatch, type PhaseUsage } from './procs.js';
import { diff, nodeENIRequests, type NodeENIRequests } from './kube-metrics.js';

export type AgentKind = 'real' | 'fleet';

export interface RunOptions {
  label: string;
  nodes: number;
  agent: AgentKind;
  stack: StackState;
  ec2: PrivateEc2;
  logDir: string;
  /** Extra controller environment (EC2_RATE_LIMIT, POLL_MS ...). */
  controllerEnv: Record<string, string>;
  /** EC2 latency injected at the private proxy for the whole run. */
  latencyMs?: number;
  /** Measure at rest: the watcher restarted with a short relist, for `relists` relists. */
  rest?: { relistSeconds: number; relists: number };
  /** Once converged (and after the at-rest phase), one more node joins: its ENIs' time to Ready against its floor. */
  join?: boolean;
  timeoutS: number;
  say: (line: string) => void;
}

export interface PhaseCpu {
  wallS: number;
  procs: PhaseUsage[];
  machine: { busyCores: number; cores: number };
}

/** One node joining a converged cluster at rest. */
export interface JoinResult {
  node: string;
  /** Nodes of the cluster it joined. */
  clusterNodes: number;
  /** ENIs the node gets (3: one NodeENI with two subnets, one with one). */
  enis: number;
  complete: boolean;
  /** Node object created (instance running, node side up) → every ENI of the node first seen Ready. */
  seconds: number;
  /** The largest over the node's ENIs of its EC2 steps in series (see ec2-bound.ts joinFloor). */
  floorS?: number;
  slowest?: EniSteps;
  perEni: EniSteps[];
  notes: string[];
  /** The controller's EC2 calls during the join. */
  calls: ProxyCalls;
}

export interface RunResult {
  label: string;
  runId: string;
  nodes: number;
  enis: number;
  agent: AgentKind;
  controllerEnv: Record<string, string>;
  /** Activities per second allowed on the controller task queue (EC2_RATE_LIMIT), when set: a setting of the controller. */
  rate?: number;
  /** How the controller paced its EC2 calls: its per-action EC2 budget (EC2_BUDGET_SCALE), absent in older results. */
  budget?: string;
  latencyMs: number;
  converged: boolean;
  convergeS: number;
  /** Seconds from apply to each attachment first seen Ready in the NodeENI status. */
  readyS: { p50: number; p99: number; max: number; n: number };
  /** Interval of the status polls that saw them (resolution of the per-attachment times). */
  pollGapMs: { mean: number; max: number };
  /** Largest NodeENI object (JSON bytes) the polls saw while converging: its size no longer grows with the fleet. */
  maxNodeENIBytes?: number;
  ec2Apply: ProxyCalls;
  ec2Teardown: ProxyCalls;
  actionsApply: Tally;
  actionsTeardown: Tally;
  /** Controller-queue activity dispatches while converging / EC2_RATE_LIMIT, in seconds (what the controller's own limit allows). */
  controllerRateBoundS?: number;
  /** Results before the strict EC2 emulator: the same figure under its old name (it was the "bound" then). */
  boundS?: number;
  /**
   * The bucket bound: the least time EC2's token buckets allow for the successful calls of the converge phase
   * (dev/stack/ec2-buckets.ts bucketBound), with the limiting bucket and the proxy's overrides. Absent in older results.
   */
  ec2Bound?: Ec2Bound & { overrides: Record<string, BucketSpec> };
  /** ENIs the teardown released (the fleet's, plus a joined node's). Absent in older results: `enis`. */
  enisReleased?: number;
  join?: JoinResult;
  rest?: {
    windowS: number;
    relistSeconds: number;
    relists: number;
    /** Minutes of production time the window stands for: relists x the default 300 s relist. */
    simulatedMin: number;
    ec2Calls: ProxyCalls;
    actions: Tally;
    /** What restarting the watcher cost (it re-sends every pair's spec): signals and actions. */
    watcherRestart: { signals: number; actions: Tally };
    /** One fleet sweep run, triggered by hand (per cluster, every FLEET_SWEEP_SECONDS, default 300 s). */
    sweep: { seconds: number; ec2Calls: ProxyCalls; actions: Tally } | undefined;
  };
  teardownS: number;
  nodeENIsGoneS: number;
  enisLeft: number;
  cpu: Record<string, PhaseCpu>;
  /** The phases' time windows (epoch ms), as used to bucket history events. */
  windows: Window[];
  /** The apiserver's NodeENI request counters over the apply and teardown phases (whole apiserver). */
  kube: Record<string, NodeENIRequests>;
  /** The Temporal engine the run used; absent in older results (the dev server). */
  temporal?: { mode: TemporalMode; pg?: { apply: PgWrites; teardown: PgWrites } };
  executions: number;
  continuedAsNew: number;
  errors: string[];
}

const WATCHER_RELIST_DEFAULT_S = 300;

/** Set on SIGINT/SIGTERM: every wait gives up, so the run cleans up what it made. */
export const interrupt = { requested: false };
/** The stack a run uses; a shared stack can be restarted by its other users, which voids the run. */
let stackStartedAt: string | undefined;

function checkInterrupt(): void {
  if (interrupt.requested) throw new Error('interrupted');
  if (stackStartedAt !== undefined && readState()?.startedAt !== stackStartedAt) {
    throw new Error('the local stack was stopped or restarted during the run (by another user of it): run void');
  }
}

/** A sleep that an interrupt cuts short. */
async function pause(ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    checkInterrupt();
    await sleep(Math.min(500, end - Date.now()));
  }
}

function pgDiff(after: PgWrites | undefined, before: PgWrites | undefined): PgWrites | undefined {
  return after && before && { rows: after.rows - before.rows, walBytes: after.walBytes - before.walBytes };
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  }));
}

export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

export async function runFleet(o: RunOptions): Promise<RunResult> {
  const id = `bench-${randomBytes(3).toString('hex')}`;
  const say = (l: string) => o.say(`[${o.label} ${o.nodes} nodes ${id}] ${l}`);
  const taskQueue = `multi-eni-controller-${id}`;
  const scheduleId = `fleet-${id}`;
  const labels = { 'bench-run': id };
  const errors: string[] = [];
  const rate = o.controllerEnv.EC2_RATE_LIMIT ? Number(o.controllerEnv.EC2_RATE_LIMIT) : undefined;
  const budget = `per-action EC2 buckets x${o.controllerEnv.EC2_BUDGET_SCALE ?? 1}${o.controllerEnv.EC2_BUDGET_OVERRIDES ? ' with overrides' : ''}`;
  stackStartedAt = o.stack.startedAt;

  const kc = new KubeConfig();
  kc.loadFromFile(o.stack.kube.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const connection = await Connection.connect({ address: o.stack.temporal.address });
  const client = new Client({ connection, namespace: o.stack.temporal.namespace });
  const moto: EC2Client = o.ec2.motoClient();

  let worker: Child | undefined;
  let watcher: Child | undefined;
  let agent: FleetAgent | undefined;
  let joinAgent: FleetAgent | undefined;
  const sims: SimulatedNode[] = [];
  let simConnection: NativeConnection | undefined;
  const nodeNames: string[] = [];
  const nodeENINames = [`${id}-a`, `${id}-b`];
  let instances: string[] = [];

  const controllerEnv = (extra: Record<string, string>) => ({
    ...process.env,
    ...stackEnv(o.stack),
    EC2_ENDPOINT: o.ec2.endpoint,
    METRICS_PORT: '0',
    LEADER_ELECTION: 'false',
    CLUSTER_NAME: id,
    NODEENI_SELECTOR: `bench-run=${id}`,
    TASK_QUEUE: taskQueue,
    FLEET_SCHEDULE_ID: scheduleId,
    ...o.controllerEnv,
    ...extra,
  });
  const controllerJs = path.join(REPO_ROOT, 'dist', 'workers', 'controller.js');
  const startWatcher = async (relistSeconds: number, tag: string): Promise<{ child: Child; metricsPort: number }> => {
    const metricsPort = await freePorts(2); // the controller binds the SDK's metrics at +1
    const child = startChild(
      `watcher-${tag}`,
      process.execPath,
      [controllerJs],
      path.join(o.logDir, `${id}-watcher-${tag}.log`),
      controllerEnv({ COMPONENTS: 'watcher', WATCHER_RELIST_SECONDS: String(relistSeconds), METRICS_PORT: String(metricsPort) }),
    );
    await waitUntil(`watcher ${tag} synced`, 120000, async () => (await logHas(child.log, 'caches synced')) || (child.proc.exitCode !== null ? fail(child) : false));
    return { child, metricsPort };
  };

  try {
    // ---- setup: instances, Node objects, node agents, controller
    const t0 = Date.now();
    const nodeSeed = { imageId: o.ec2.seed.imageId, subnets: [{ id: o.ec2.subnets.nodes, name: 'bench-nodes', az: BENCH_AZ, cidr: '10.10.64.0/18' }] };
    const inst = await runInstances(moto, nodeSeed, o.nodes, BENCH_AZ, BENCH_INSTANCE_TYPE, id);
    instances = inst.map((i) => i.id);
    const nodes: FleetNode[] = inst.map((i, n) => ({ name: `${id}-n${String(n).padStart(3, '0')}`, instanceId: i.id }));
    await mapLimit(nodes, 16, async (n) => {
      await core.createNode({ body: { metadata: { name: n.name, labels }, spec: { providerID: `aws:///${BENCH_AZ}/${n.instanceId}` } } });
      nodeNames.push(n.name);
    });
    worker = startChild('controller', process.execPath, [controllerJs], path.join(o.logDir, `${id}-controller.log`), controllerEnv({ COMPONENTS: 'worker' }));
    // The sweep schedule is created by the worker at start; paused so per-ENI counts are the lifecycles' own.
    await waitUntil('controller worker up (sweep schedule created)', 120000, async () => {
      if (worker!.proc.exitCode !== null) fail(worker!);
      return client.schedule.getHandle(scheduleId).describe().then(() => true, () => false);
    });
    await client.schedule.getHandle(scheduleId).pause('benchmark: measured separately');
    let w = await startWatcher(WATCHER_RELIST_DEFAULT_S, 'apply');
    watcher = w.child;
    // The node side last: hundreds of node workers registering at once slow the Temporal dev server down.
    if (o.agent === 'real') {
      simConnection = await NativeConnection.connect({ address: o.stack.temporal.address });
      for (const n of nodes) {
        sims.push(await SimulatedNode.start({ name: n.name, instanceId: n.instanceId, ec2: moto, temporal: o.stack.temporal, connection: simConnection }));
      }
    } else {
      agent = await FleetAgent.start({ nodes, temporal: o.stack.temporal, ec2: moto });
    }
    say(`setup ${((Date.now() - t0) / 1000).toFixed(0)}s (${o.agent === 'real' ? 'SimulatedNode + real node agent' : 'fleet agent stand-in'})`);

    // ---- apply
    const cluster = o.stack.temporal.mode === 'cluster';
    const temporalProcs: [string, number][] = cluster
      ? CLUSTER_COMPONENTS.map((c) => [c, o.stack.pids[c] ?? 0])
      : [['temporal', o.stack.pids.temporal ?? 0]];
    const procs = new ProcWatch(
      new Map([
        ['controller', worker.pid],
        ['watcher', watcher.pid],
        ['bench (node side)', process.pid],
        ['moto (private)', o.ec2.moto.pid],
        ['ec2-proxy (private)', o.ec2.proxy.pid],
        ...temporalProcs,
        ['kube-apiserver', o.stack.pids['kube-apiserver'] ?? 0],
        ['etcd', o.stack.pids.etcd ?? 0],
      ]),
      ['postgres'],
    );
    const pgPort = cluster ? clusterPorts(o.stack.ports.temporal - 33).postgres : undefined;
    const pgNow = async (): Promise<PgWrites | undefined> => (pgPort === undefined ? undefined : pgWrites(pgPort));
    const pg: { apply?: PgWrites; teardown?: PgWrites } = {};
    const cpu: Record<string, PhaseCpu> = {};
    const kube: Record<string, NodeENIRequests> = {};
    let kubeBefore = await nodeENIRequests(o.stack);
    let pgBefore = await pgNow();
    if (o.latencyMs) await o.ec2.faults({ latencyMs: o.latencyMs });
    const bucketsCfg = await o.ec2.buckets();
    const waitedS = await o.ec2.waitBucketsFull();
    if (waitedS > 1) say(`waited ${waitedS.toFixed(0)}s for EC2's token buckets to refill`);
    await o.ec2.resetCalls();
    const tApply = Date.now();
    for (const nodeENI of nodeENIs(id, o.ec2)) {
      await custom.createClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, body: nodeENI });
    }
    const expected = o.nodes * 3;
    say(`applied 2 NodeENIs, waiting for ${expected} attachments Ready`);
    const poll = await pollReady(custom, id, expected, tApply, o.timeoutS * 1000, (n) => say(`${n}/${expected} Ready after ${((Date.now() - tApply) / 1000).toFixed(0)}s`));
    const tReady = Date.now();
    const ec2Apply = await o.ec2.calls();
    cpu.apply = procs.phase();
    kube.apply = diff(await nodeENIRequests(o.stack), kubeBefore);
    if (!poll.complete) errors.push(`only ${poll.readyAt.size}/${expected} attachments Ready within ${o.timeoutS}s`);
    const convergeS = ((poll.complete ? poll.lastReadyMs : tReady) - tApply) / 1000;
    const readyList = [...poll.readyAt.values()].map((t) => (t - tApply) / 1000).sort((a, b) => a - b);
    say(`converged: ${poll.complete} in ${convergeS.toFixed(1)}s`);
    // Let the last status writes, events and the watcher's conditions land before the next phase.
    await sleep(5000);
    pg.apply = pgDiff(await pgNow(), pgBefore);
    const windows: Window[] = [];
    let restMeasured: { windowS: number; relistSeconds: number; relists: number; restCalls: ProxyCalls; restartSignals: number; sweepS?: number; sweepCalls: ProxyCalls } | undefined;

    const atRest = o.rest !== undefined && poll.complete;
    if (o.rest && !atRest) errors.push('not converged: the at-rest phase was skipped');
    if (o.rest && atRest) {
      // ---- at rest: restart the watcher with a short relist (its relist is the only clock at rest)
      const tRestart = Date.now();
      windows.push({ name: 'apply', fromMs: tApply, toMs: tRestart });
      await stopChild(watcher);
      w = await startWatcher(o.rest.relistSeconds, 'rest');
      watcher = w.child;
      procs.set('watcher', watcher.pid);
      const port = w.metricsPort;
      let last = -1;
      await waitUntil('watcher restart: first reconcile done and signals settled', 300000, async () => {
        const reconciles = await metric(port, 'multi_eni_watcher_reconcile_seconds_count').catch(() => 0);
        const signals = await metric(port, 'multi_eni_watcher_signals_total').catch(() => -1);
        const settled = reconciles > 0 && signals === last;
        last = signals;
        return settled;
      }, 2000);
      await sleep(3000); // the pairs take the re-sent signals (one workflow task each)
      const restartSignals = last;
      procs.phase();
      await o.ec2.resetCalls();
      const tRest0 = Date.now();
      windows.push({ name: 'restart', fromMs: tRestart, toMs: tRest0 });
      const windowS = o.rest.relists * o.rest.relistSeconds;
      say(`at rest for ${windowS}s (${o.rest.relists} relists every ${o.rest.relistSeconds}s)`);
      await pause(windowS * 1000);
      const tRest1 = Date.now();
      windows.push({ name: 'rest', fromMs: tRest0, toMs: tRest1 });
      const restCalls = await o.ec2.calls();
      cpu.rest = procs.phase();

      // ---- one fleet sweep, by hand
      await o.ec2.resetCalls();
      const tSweep0 = Date.now();
      const sweepS = await triggerSweep(client, scheduleId).catch((e: unknown) => {
        errors.push(`fleet sweep: ${String(e)}`);
        return undefined;
      });
      const tSweep1 = Date.now();
      windows.push({ name: 'sweep', fromMs: tSweep0, toMs: tSweep1 + 1 });
      const sweepCalls = await o.ec2.calls();
      restMeasured = { windowS, relistSeconds: o.rest.relistSeconds, relists: o.rest.relists, restCalls, restartSignals, sweepS, sweepCalls };
    }

    // ---- one node joins the cluster at rest
    let join: JoinResult | undefined;
    if (o.join && !poll.complete) errors.push('not converged: the join was skipped');
    if (o.join && poll.complete) {
      if (!windows.some((x) => x.name === 'apply')) windows.push({ name: 'apply', fromMs: tApply, toMs: Date.now() });
      const [ji] = await runInstances(moto, nodeSeed, 1, BENCH_AZ, BENCH_INSTANCE_TYPE, id);
      instances.push(ji!.id);
      const node: FleetNode = { name: `${id}-join`, instanceId: ji!.id };
      // The node side is up before the Node object appears: the join measures the controller and EC2, not an
      // agent's start-up.
      if (o.agent === 'real') sims.push(await SimulatedNode.start({ name: node.name, instanceId: node.instanceId, ec2: moto, temporal: o.stack.temporal, connection: simConnection! }));
      else joinAgent = await FleetAgent.start({ nodes: [node], temporal: o.stack.temporal, ec2: moto });
      const waited = await o.ec2.waitBucketsFull();
      if (waited > 1) say(`waited ${waited.toFixed(0)}s for EC2's token buckets to refill`);
      procs.phase();
      await o.ec2.resetCalls();
      const tJoin = Date.now();
      await core.createNode({ body: { metadata: { name: node.name, labels }, spec: { providerID: `aws:///${BENCH_AZ}/${node.instanceId}` } } });
      nodeNames.push(node.name);
      say(`node ${node.name} joined, waiting for its 3 attachments Ready`);
      const jp = await pollReady(custom, id, 3, tJoin, o.timeoutS * 1000, (n) => say(`join: ${n}/3 Ready after ${((Date.now() - tJoin) / 1000).toFixed(0)}s`), (a) => a.nodeID === node.name);
      const { calls: joinCalls, recent } = await o.ec2.callsWithRecent();
      const seconds = ((jp.complete ? jp.lastReadyMs : Date.now()) - tJoin) / 1000;
      const enis = [...jp.ready.values()].filter((a) => a.eniID).map((a) => ({ eniId: a.eniID!, subnetId: a.subnetID }));
      const floor = joinFloor(recent, enis);
      if (joinCalls.total > recent.length) floor.notes.push(`${joinCalls.total} calls during the join, the proxy keeps the last ${recent.length}: steps may be missing`);
      if (!jp.complete) errors.push(`join: only ${jp.readyAt.size}/3 attachments of ${node.name} Ready within ${o.timeoutS}s`);
      join = {
        node: node.name,
        clusterNodes: o.nodes,
        enis: 3,
        complete: jp.complete,
        seconds,
        floorS: floor.floorMs === undefined ? undefined : floor.floorMs / 1000,
        slowest: floor.slowest,
        perEni: floor.perEni,
        notes: floor.notes,
        calls: joinCalls,
      };
      say(`join: ${jp.complete ? '' : 'NOT '}Ready in ${seconds.toFixed(1)}s, floor ${join.floorS?.toFixed(1) ?? '-'}s${floor.notes.length ? ` (${floor.notes.join('; ')})` : ''}`);
      await sleep(3000); // the join's last status writes and events
      windows.push({ name: 'join', fromMs: tJoin, toMs: Date.now() });
      cpu.join = procs.phase();
    }

    // ---- teardown
    await o.ec2.resetCalls();
    procs.phase();
    kubeBefore = await nodeENIRequests(o.stack);
    pgBefore = await pgNow();
    const enisReleased = (await clusterEnis(moto, id)).length;
    const tDelete = Date.now();
    if (!windows.some((x) => x.name === 'apply')) windows.push({ name: 'apply', fromMs: tApply, toMs: tDelete });
    for (const name of nodeENINames) await deleteNodeENI(custom, name);
    say('deleted the NodeENIs, waiting for every ENI to be deleted');
    let enisGoneMs: number | undefined;
    let nodeENIsGoneMs: number | undefined;
    let enisLeft = 0;
    const deadline = Date.now() + o.timeoutS * 1000;
    for (;;) {
      const [enis, objs] = await Promise.all([clusterEnis(moto, id), listNodeENIs(custom, id)]);
      enisLeft = enis.length;
      if (enis.length === 0 && enisGoneMs === undefined) enisGoneMs = Date.now();
      if (objs.length === 0 && nodeENIsGoneMs === undefined) nodeENIsGoneMs = Date.now();
      if (enisGoneMs !== undefined && nodeENIsGoneMs !== undefined) break;
      if (Date.now() > deadline) {
        errors.push(`teardown: ${enis.length} ENIs and ${objs.length} NodeENIs left after ${o.timeoutS}s`);
        break;
      }
      await pause(500);
    }
    const tGone = Date.now();
    windows.push({ name: 'teardown', fromMs: tDelete, toMs: tGone + 60000 });
    const ec2Teardown = await o.ec2.calls();
    cpu.teardown = procs.phase();
    kube.teardown = diff(await nodeENIRequests(o.stack), kubeBefore);
    pg.teardown = pgDiff(await pgNow(), pgBefore);
    if (o.latencyMs) await o.ec2.faults({ latencyMs: 0 });
    say(`torn down in ${((tGone - tDelete) / 1000).toFixed(1)}s, ${enisLeft} ENIs left`);

    await stopChild(worker);
    await stopChild(watcher);
    const exhausted = ((await readFile(worker.log, 'utf8').catch(() => '')).match(/ResourceExhausted/g) ?? []).length;
    if (exhausted) errors.push(`controller log: ${exhausted} Temporal ResourceExhausted answers (e.g. the namespace's concurrent poller limit)`);
    const counted = await countActions(client, taskQueue, taskQueue, windows);
    const actionsApply = phaseTally(counted, 'apply', WORKFLOW_TYPE_LIFECYCLE);
    const m = restMeasured;
    const rest: RunResult['rest'] = m && {
      windowS: m.windowS,
      relistSeconds: m.relistSeconds,
      relists: m.relists,
      simulatedMin: (m.relists * WATCHER_RELIST_DEFAULT_S) / 60,
      ec2Calls: m.restCalls,
      actions: phaseTally(counted, 'rest'),
      watcherRestart: { signals: m.restartSignals, actions: phaseTally(counted, 'restart') },
      sweep: m.sweepS === undefined ? undefined : { seconds: m.sweepS, ec2Calls: m.sweepCalls, actions: phaseTally(counted, 'sweep', WORKFLOW_TYPE_FLEET) },
    };
    return {
      label: o.label,
      runId: id,
      nodes: o.nodes,
      enis: expected,
      agent: o.agent,
      controllerEnv: o.controllerEnv,
      rate,
      latencyMs: o.latencyMs ?? 0,
      converged: poll.complete,
      convergeS,
      readyS: { p50: quantile(readyList, 0.5), p99: quantile(readyList, 0.99), max: readyList[readyList.length - 1] ?? NaN, n: readyList.length },
      pollGapMs: poll.gapMs,
      maxNodeENIBytes: poll.maxNodeENIBytes,
      ec2Apply,
      ec2Teardown,
      actionsApply,
      actionsTeardown: phaseTally(counted, 'teardown', WORKFLOW_TYPE_LIFECYCLE),
      budget,
      ...(rate ? { controllerRateBoundS: actionsApply.controllerDispatches / rate } : {}),
      ...(ec2Apply.byBucket ? { ec2Bound: { ...ec2BucketBound(ec2Apply.byBucket, bucketsCfg?.overrides ?? {}), overrides: bucketsCfg?.overrides ?? {} } } : {}),
      enisReleased,
      ...(join ? { join } : {}),
      rest,
      teardownS: ((enisGoneMs ?? tGone) - tDelete) / 1000,
      nodeENIsGoneS: ((nodeENIsGoneMs ?? tGone) - tDelete) / 1000,
      enisLeft,
      cpu,
      windows,
      kube,
      temporal: { mode: o.stack.temporal.mode, ...(pg.apply && pg.teardown ? { pg: { apply: pg.apply, teardown: pg.teardown } } : {}) },
      executions: counted.executions,
      continuedAsNew: counted.continuedAsNew,
      errors,
    };
  } finally {
    // ---- cleanup, whatever happened: nothing of this run stays on the shared stack
    if (o.latencyMs) await o.ec2.faults({ latencyMs: 0 }).catch(() => undefined);
    await stopChild(worker);
    await stopChild(watcher);
    await agent?.stop().catch(() => undefined);
    await joinAgent?.stop().catch(() => undefined);
    for (const s of sims) await s.stop().catch(() => undefined);
    await simConnection?.close().catch(() => undefined);
    for (const name of nodeENINames) await forceDeleteNodeENI(custom, name).catch(() => undefined);
    for await (const wf of client.workflow.list({ query: `TaskQueue="${taskQueue}" AND ExecutionStatus="Running"` })) {
      await client.workflow.getHandle(wf.workflowId, wf.runId).terminate('benchmark cleanup').catch(() => undefined);
    }
    await client.schedule.getHandle(scheduleId).delete().catch(() => undefined);
    await mapLimit(nodeNames, 16, (name) => core.deleteNode({ name }).then(() => undefined, () => undefined));
    for (const name of nodeENINames) {
      await core.deleteCollectionNamespacedEvent({ namespace: 'default', fieldSelector: `involvedObject.name=${name}` }).catch(() => undefined);
    }
    for (let i = 0; i < instances.length; i += 100) {
      await moto.send(new TerminateInstancesCommand({ InstanceIds: instances.slice(i, i + 100) })).catch(() => undefined);
    }
    moto.destroy();
    await connection.close();
  }
}

/** The run's two NodeENIs: device indexes 1 and 2 (two subnets) and 3, within the instance type's 8 (0..7). */
function nodeENIs(id: string, ec2: PrivateEc2): NodeENI[] {
  const base = { apiVersion: `${API_GROUP}/${API_VERSION}`, kind: 'NodeENI' };
  const meta = (name: string) => ({ name, labels: { 'bench-run': id } });
  const out: NodeENI[] = [
    {
      ...base,
      metadata: meta(`${id}-a`),
      spec: { nodeSelector: { 'bench-run': id }, subnetIDs: [ec2.subnets.eniA1, ec2.subnets.eniA2], securityGroupIDs: [ec2.securityGroupId], deviceIndex: 1, mtu: 9001, description: 'bench: two subnets' },
    },
    {
      ...base,
      metadata: meta(`${id}-b`),
      spec: { nodeSelector: { 'bench-run': id }, subnetID: ec2.subnets.eniB, securityGroupIDs: [ec2.securityGroupId], deviceIndex: 3, mtu: 9001, description: 'bench: one subnet' },
    },
  ];
  for (const n of out) {
    const last = (n.spec.deviceIndex ?? 1) + (n.spec.subnetIDs?.length ?? 1) - 1;
    if (last >= BENCH_MAX_ENIS) throw new Error(`bench NodeENI ${n.metadata.name}: device index ${last} past the instance type's ${BENCH_MAX_ENIS} ENIs`);
  }
  return out;
}

async function listNodeENIs(custom: CustomObjectsApi, id: string): Promise<NodeENI[]> {
  const r = (await custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, labelSelector: `bench-run=${id}` })) as { items: NodeENI[] };
  return r.items;
}

/** The NodeENIAttachment objects of the run's NodeENIs (each pair's entries). */
async function listAttachmentObjects(custom: CustomObjectsApi, nodeENINames: ReadonlySet<string>): Promise<NodeENIAttachment[]> {
  const r = (await custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_ATTACHMENT_PLURAL })) as { items: NodeENIAttachment[] };
  return r.items.filter((o) => nodeENINames.has(o.spec.nodeENI));
}

/**
 * Polls the pairs' NodeENIAttachment objects and records when each attachment (NodeENI, node, subnet) that `match`
 * selects is first seen Ready, and its entry then; and the largest NodeENI object seen.
 */
async function pollReady(custom: CustomObjectsApi, id: string, expected: number, t0: number, timeoutMs: number, progress: (n: number) => void, match: (a: AttachmentStatus) => boolean = () => true) {
  const readyAt = new Map<string, number>();
  const ready = new Map<string, AttachmentStatus>();
  const gaps: number[] = [];
  let lastPoll = t0;
  let lastReport = Date.now();
  let lastReadyMs = t0;
  let maxNodeENIBytes = 0;
  const done = (complete: boolean) => ({ readyAt, ready, complete, lastReadyMs, gapMs: gapStats(gaps), maxNodeENIBytes });
  while (Date.now() - t0 < timeoutMs) {
    const start = Date.now();
    const nodeENIList = await listNodeENIs(custom, id).catch(() => []);
    for (const n of nodeENIList) maxNodeENIBytes = Math.max(maxNodeENIBytes, JSON.stringify(n).length);
    const objects = await listAttachmentObjects(custom, new Set(nodeENIList.map((n) => n.metadata.name))).catch(() => []);
    const seen = Date.now();
    gaps.push(seen - lastPoll);
    lastPoll = seen;
    for (const o of objects) {
      for (const a of o.status?.attachments ?? []) {
        const key = `${o.spec.nodeENI}/${a.nodeID}/${a.subnetID}`;
        if (a.phase === 'Ready' && !readyAt.has(key) && match(a)) {
          readyAt.set(key, seen);
          ready.set(key, a);
          lastReadyMs = seen;
        }
      }
    }
    if (readyAt.size >= expected) return done(true);
    if (Date.now() - lastReport > 15000) {
      progress(readyAt.size);
      lastReport = Date.now();
    }
    // Large fleets make large lists: poll no faster than twice the list time, and at least every 250 ms.
    await pause(Math.max(250, 2 * (Date.now() - start)));
  }
  return done(false);
}

function gapStats(gaps: number[]): { mean: number; max: number } {
  return { mean: gaps.reduce((a, b) => a + b, 0) / Math.max(gaps.length, 1), max: Math.max(0, ...gaps) };
}

async function clusterEnis(ec2: EC2Client, id: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const r = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: `tag:${TAG_CLUSTER}`, Values: [id] }], NextToken: token }));
    for (const e of r.NetworkInterfaces ?? []) out.push(e.NetworkInterfaceId!);
    token = r.NextToken;
  } while (token);
  return out;
}

async function deleteNodeENI(custom: CustomObjectsApi, name: string): Promise<void> {
  await custom.deleteClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, name }).catch((e: { code?: number }) => {
    if (e.code !== 404) throw e;
  });
}

/** Cleanup after a failed run: drop the finalizer so the object goes even if no controller runs any more. */
async function forceDeleteNodeENI(custom: CustomObjectsApi, name: string): Promise<void> {
  await custom
    .patchClusterCustomObject(
      { group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, name, body: { metadata: { finalizers: null } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )
    .catch(() => undefined);
  await deleteNodeENI(custom, name);
}

/** Triggers the sweep schedule once and waits for that run; returns its duration in seconds. */
async function triggerSweep(client: Client, scheduleId: string): Promise<number> {
  const handle = client.schedule.getHandle(scheduleId);
  const before = new Set((await handle.describe()).info.recentActions.map((a) => a.action.workflow.workflowId));
  const t = Date.now();
  await handle.trigger();
  let workflowId: string | undefined;
  await waitUntil('fleet sweep started', 60000, async () => {
    workflowId = (await handle.describe()).info.recentActions.map((a) => a.action.workflow.workflowId).find((wid) => !before.has(wid));
    return workflowId !== undefined;
  });
  await client.workflow.getHandle(workflowId!).result();
  return (Date.now() - t) / 1000;
}

async function waitUntil(what: string, timeoutMs: number, fn: () => Promise<boolean>, everyMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s: ${what}`);
    await pause(everyMs);
  }
}

async function logHas(file: string, text: string): Promise<boolean> {
  return (await readFile(file, 'utf8').catch(() => '')).includes(text);
}

function fail(c: Child): never {
  throw new Error(`${c.name} exited (code ${c.proc.exitCode}); see ${c.log}`);
}
