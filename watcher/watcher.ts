// The watcher: informers on NodeENI and Node feed one reconcile loop that turns the cluster's state into
// signals to the pair workflows, owns the NodeENI finalizer and writes the NodeENI's conditions.
// Every decision is in desired.ts / conditions.ts; this file only does the I/O around them.
// Nothing here survives a restart on purpose: a new process re-derives all of it and re-sends idempotent signals.
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
  type KubernetesListObject,
  type V1Node,
} from '@kubernetes/client-node';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import {
  API_GROUP,
  API_VERSION,
  CONTROLLER_TASK_QUEUE,
  FIELD_MANAGER_WATCHER,
  NODEENI_FINALIZER,
  NODEENI_PLURAL,
  SIGNAL_RELEASE,
  SIGNAL_SPEC,
  WORKFLOW_TYPE_LIFECYCLE,
  lifecycleWorkflowId,
  parseLifecycleWorkflowId,
} from '../common/names.js';
import { parseSpec, type NodeENI } from '../common/nodeeni.js';
import type { DesiredPair, LifecycleInput, ReleaseRequest } from '../common/lifecycle-contract.js';
import { desiredPairs, missingNodeENIs, pairKey, pairsFromStatus, planReconcile, type PlannedRelease } from './desired.js';
import { computeStatus, invalidSpecReported, statusChanged, type WatcherStatus } from './conditions.js';
import { EVENT_NAMESPACE, recordNodeENIEvent } from './events.js';
import { SA_ENI_PHASE, SA_INSTANCE_ID, SA_NODEENI, SA_NODE_NAME } from '../common/search-attributes.js';
import { ResilientInformer } from './informer.js';
import { NODEENI_ATTACHMENT_KIND, NODEENI_ATTACHMENT_PLURAL, type NodeENIAttachment } from '../common/nodeeni-attachment.js';
import { DEFAULT_STATUS_ATTACHMENTS_LIMIT, allAttachments, indexAttachmentObjects, ownedBy, withAllAttachments } from './attachment-view.js';
import { describeChange, gatePatch, indexNodeENIs, planNode, type GateNode, type IndexedNodeENI, type NodeChange, type ReadinessGate } from './node-readiness.js';

export { SA_NODEENI, SA_NODE_NAME, SA_INSTANCE_ID, SA_ENI_PHASE } from '../common/search-attributes.js';

/** Visibility (the workflow list) lags behind starts by up to about a second; leave a wide margin. */
const VISIBILITY_LAG_MS = 10000;
/** At most this many Temporal calls in flight per reconcile. */
const PARALLEL_CALLS = 16;

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export const consoleLogger: Logger = {
  info: (m) => console.log(`[watcher] ${m}`),
  warn: (m) => console.warn(`[watcher] ${m}`),
  error: (m) => console.error(`[watcher] ${m}`),
};

/** Monotonic counters for metrics; the process entry exports them (e.g. to Prometheus). */
export interface WatcherCounters {
  reconciles: number;
  reconcileErrors: number;
  signalsSent: number;
  signalErrors: number;
  releasesSent: number;
  statusWrites: number;
  finalizersAdded: number;
  finalizersRemoved: number;
  eventsWritten: number;
  /** Nodes patched by the readiness gate (taint removed, label set or removed). */
  nodesPatched: number;
}

export function newCounters(): WatcherCounters {
  return {
    reconciles: 0,
    reconcileErrors: 0,
    signalsSent: 0,
    signalErrors: 0,
    releasesSent: 0,
    statusWrites: 0,
    finalizersAdded: 0,
    finalizersRemoved: 0,
    eventsWritten: 0,
    nodesPatched: 0,
  };
}

export interface ReconcileReport {
  durationMs: number;
  signals: number;
  releases: number;
  statusWrites: number;
  /** Set when the reconcile failed as a whole (it is retried with backoff). */
  error?: string;
}

export interface WatcherCoreOptions {
  kubeConfig: KubeConfig;
  client: Client;
  /** Task queue the pair workflows are started on. */
  taskQueue?: string;
  /** Full relist of both informers and of running workflows, as a liveness guard. */
  relistIntervalMs?: number;
  /** Given to the pairs it starts: history events after which a pair at rest continues as new. */
  historyLimit?: number;
  /** Events arriving within this window are handled by one reconcile. */
  debounceMs?: number;
  /** Recheck interval while something waits on a workflow (a deletion, a pair being released and re-added). */
  pollIntervalMs?: number;
  /**
   * Label selector limiting the NodeENIs this watcher manages (sharding, side-by-side installs, tests).
   * When set, pairs whose NodeENI it cannot see are left alone.
   */
  nodeENISelector?: string;
  /** Namespace of the Events written on NodeENIs. */
  eventNamespace?: string;
  /** Who wrote the Events (pod name). */
  identity?: string;
  counters?: WatcherCounters;
  onReconcile?: (r: ReconcileReport) => void;
  logger?: Logger;
  /** The readiness gate (startup taint and ready label on Nodes, node-readiness.ts); unset = off. */
  readinessGate?: ReadinessGate;
  /** Attachments listed in a NodeENI's status.attachments (all are in the NodeENIAttachment objects). */
  statusAttachmentsLimit?: number;
  /** Least time between two status writes of one NodeENI: the rate is bounded however many pairs change. */
  statusMinIntervalMs?: number;
}

type NodeENIObject = NodeENI & KubernetesObject;
type AttachmentObject = NodeENIAttachment & KubernetesObject;

function msg(err: unknown): string {
  if (err instanceof ApiException) {
    const body = typeof err.body === 'string' ? err.body : JSON.stringify(err.body);
    return `HTTP ${err.code}: ${body?.slice(0, 300)}`;
  }
  return err instanceof Error ? err.message : String(err);
}

function httpCode(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(workers);
}

/** RFC 3339 without fractions, as Kubernetes writes times. */
function nowRfc3339(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

export class NodeENIWatcher {
  readonly counters: WatcherCounters;
  private readonly kc: KubeConfig;
  private readonly client: Client;
  private readonly taskQueue: string;
  private readonly relistMs: number;
  private readonly debounceMs: number;
  private readonly pollMs: number;
  private readonly log: Logger;
  private readonly custom: CustomObjectsApi;
  private readonly core: CoreV1Api;
  private readonly nodeENIs: ResilientInformer<NodeENIObject>;
  private readonly nodes: ResilientInformer<V1Node>;
  private readonly attachmentObjects: ResilientInformer<AttachmentObject>;
  /** NodeENI name → when this process last wrote its status (the rate bound). */
  private readonly lastWriteAt = new Map<string, number>();
  /** Set by a reconcile: the soonest a deferred status write is due (ms from now). */
  private deferMs: number | undefined;

  /** Workflow ID → key of the spec this process last delivered, and when. */
  private readonly sent = new Map<string, { key: string; atMs: number }>();
  /** Workflow ID → when release was delivered (or the workflow was found gone). */
  private readonly released = new Map<string, number>();
  /** Running lifecycle workflows per the last visibility list. */
  private running = new Set<string>();
  private runningLoaded = false;
  /** Status this process wrote, until the informer shows it (so a lagging cache causes no second write). */
  private readonly lastWrite = new Map<string, { baseResourceVersion: string; status: WatcherStatus }>();
  /** `name/generation` of NodeENIs whose InvalidSpec Warning this process wrote. */
  private readonly warned = new Set<string>();
  /** Node name → the resourceVersion this process patched it from, until the informer shows the patch. */
  private readonly nodePatched = new Map<string, string>();

  private started = false;
  private stopped = false;
  private ready = false;
  private dirty = false;
  /** Set by a reconcile when some call failed: the next one runs after a backoff. */
  private retry = false;
  private running_?: Promise<void>;
  private timer?: NodeJS.Timeout;
  private pollTimer?: NodeJS.Timeout;
  private relistTimer?: NodeJS.Timeout;
  private bootstrap?: Promise<void>;
  private errorBackoffMs = 0;

  constructor(private readonly o: WatcherCoreOptions) {
    this.kc = o.kubeConfig;
    this.client = o.client;
    this.taskQueue = o.taskQueue ?? CONTROLLER_TASK_QUEUE;
    this.relistMs = o.relistIntervalMs ?? 300000;
    this.debounceMs = o.debounceMs ?? 150;
    this.pollMs = o.pollIntervalMs ?? 2000;
    this.log = o.logger ?? consoleLogger;
    this.counters = o.counters ?? newCounters();
    this.custom = this.kc.makeApiClient(CustomObjectsApi);
    this.core = this.kc.makeApiClient(CoreV1Api);
    const informerLog = (m: string) => this.log.warn(m);
    this.nodeENIs = new ResilientInformer<NodeENIObject>(
      this.kc,
      {
        name: 'NodeENI',
        path: `/apis/${API_GROUP}/${API_VERSION}/${NODEENI_PLURAL}`,
        labelSelector: o.nodeENISelector,
        list: () =>
          this.custom.listClusterCustomObject({
            group: API_GROUP,
            version: API_VERSION,
            plural: NODEENI_PLURAL,
            ...(o.nodeENISelector ? { labelSelector: o.nodeENISelector } : {}),
          }) as Promise<KubernetesListObject<NodeENIObject>>,
      },
      () => this.markDirty(),
      informerLog,
    );
    this.nodes = new ResilientInformer<V1Node>(this.kc, { name: 'Node', path: '/api/v1/nodes', list: () => this.core.listNode() }, () => this.markDirty(), informerLog);
    this.attachmentObjects = new ResilientInformer<AttachmentObject>(
      this.kc,
      {
        name: NODEENI_ATTACHMENT_KIND,
        path: `/apis/${API_GROUP}/${API_VERSION}/${NODEENI_ATTACHMENT_PLURAL}`,
        list: () => this.custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_ATTACHMENT_PLURAL }) as Promise<KubernetesListObject<AttachmentObject>>,
      },
      () => this.markDirty(),
      informerLog,
    );
  }

  /** Each cached NodeENI with status.attachments holding all its attachments (from the objects). */
  private views(nodeENIs: readonly NodeENIObject[]): NodeENIObject[] {
    const index = indexAttachmentObjects(this.attachmentObjects.list() as AttachmentObject[]);
    return nodeENIs.map((n) => withAllAttachments(n, allAttachments(n, index.get(n.metadata.name) ?? [])));
  }

  /** Starts informers and the loop; returns at once (the first reconcile follows the first complete lists). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.nodeENIs.start();
    this.nodes.start();
    this.attachmentObjects.start();
    this.bootstrap = this.boot();
    this.relistTimer = setInterval(() => void this.relist(), this.relistMs);
  }

  private async boot(): Promise<void> {
    while (!this.stopped && !(this.nodeENIs.synced && this.nodes.synced && this.attachmentObjects.synced)) {
      await Promise.all([this.nodeENIs.waitSynced(5000), this.nodes.waitSynced(5000), this.attachmentObjects.waitSynced(5000)]);
    }
    let backoff = 500;
    while (!this.stopped && !this.runningLoaded) {
      try {
        await this.refreshRunning();
      } catch (err) {
        this.log.warn(`listing running workflows failed (${msg(err)}); retrying in ${backoff} ms`);
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(backoff * 2, 30000);
      }
    }
    if (this.stopped) return;
    this.ready = true;
    this.log.info(`caches synced (${this.nodeENIs.list().length} NodeENIs, ${this.nodes.list().length} nodes, ${this.running.size} running pairs)`);
    this.markDirty();
  }

  /** True once the caches and the running-workflow list are loaded and reconciles run. */
  isReady(): boolean {
    return this.ready && !this.stopped;
  }

  /**
   * The NodeENIs in the informer's cache (this watcher's selector), each with all its attachments in
   * status.attachments, or undefined until the caches are loaded.
   */
  cachedNodeENIs(): readonly NodeENI[] | undefined {
    return this.isReady() ? this.views(this.nodeENIs.list() as NodeENIObject[]) : undefined;
  }

  /** Stops informers and timers, and waits for a reconcile in progress to finish. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.relistTimer) clearInterval(this.relistTimer);
    await Promise.all([this.nodeENIs.stop(), this.nodes.stop(), this.attachmentObjects.stop()]);
    await this.bootstrap;
    await this.running_;
  }

  private async relist(): Promise<void> {
    if (this.stopped || !this.ready) return;
    try {
      await Promise.all([this.nodeENIs.relist(), this.nodes.relist(), this.attachmentObjects.relist()]);
      await this.refreshRunning();
    } catch (err) {
      this.log.warn(`periodic relist failed: ${msg(err)}`);
    }
    this.markDirty();
  }

  /** Lists running lifecycle workflows of this task queue: pairs that may hold ENIs whatever the status says. */
  private async refreshRunning(): Promise<void> {
    const startedAt = Date.now();
    const ids = new Set<string>();
    const query = `WorkflowType="${WORKFLOW_TYPE_LIFECYCLE}" AND ExecutionStatus="Running" AND TaskQueue="${this.taskQueue}"`;
    for await (const wf of this.client.workflow.list({ query })) {
      if (!parseLifecycleWorkflowId(wf.workflowId)) continue;
      ids.add(wf.workflowId);
      // A run already releasing (told so by an earlier process) must finish before the pair can start anew.
      if (wf.typedSearchAttributes.get(SA_ENI_PHASE) === 'Releasing' && !this.released.has(wf.workflowId)) {
        this.released.set(wf.workflowId, startedAt);
      }
    }
    this.running = ids;
    this.runningLoaded = true;
    // A run signalled well before this list yet not running has ended (failed, terminated, timed out):
    // forgetting it makes the next reconcile start the pair again.
    for (const [id, s] of this.sent) if (!ids.has(id) && s.atMs < startedAt - VISIBILITY_LAG_MS) this.sent.delete(id);
    for (const [id, at] of this.released) if (!ids.has(id) && at < startedAt - VISIBILITY_LAG_MS) this.released.delete(id);
  }

  markDirty(): void {
    this.dirty = true;
    this.schedule(this.debounceMs);
  }

  private schedule(delayMs: number): void {
    // Before the caches are complete nothing runs; boot() marks dirty once they are.
    if (!this.ready || this.stopped || this.timer || this.running_) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running_ = this.loop().finally(() => {
        this.running_ = undefined;
        if (this.dirty) this.schedule(this.debounceMs);
      });
    }, delayMs);
  }

  private async loop(): Promise<void> {
    if (this.stopped || !this.dirty) return;
    this.dirty = false;
    const t0 = performance.now();
    const report: ReconcileReport = { durationMs: 0, signals: 0, releases: 0, statusWrites: 0 };
    let waiting = false;
    this.retry = false;
    try {
      waiting = await this.reconcile(report);
    } catch (err) {
      report.error = msg(err);
      this.counters.reconcileErrors++;
      this.retry = true;
      this.log.error(`reconcile failed: ${report.error}`);
    }
    // Failures (Temporal or the apiserver unavailable, a conflict) are retried with backoff, not in a hot loop.
    this.errorBackoffMs = this.retry ? Math.min(Math.max(this.errorBackoffMs * 2, 500), 30000) : 0;
    report.durationMs = performance.now() - t0;
    this.counters.reconciles++;
    this.o.onReconcile?.(report);
    if ((waiting || this.retry || this.deferMs !== undefined) && !this.stopped) {
      // Nothing in the cluster announces that a workflow finished, or that Temporal is back: look again later.
      // A status write held back by the rate bound is due after deferMs.
      const delays = [...(waiting ? [this.pollMs] : []), ...(this.retry ? [this.errorBackoffMs] : []), ...(this.deferMs !== undefined ? [this.deferMs] : [])];
      if (this.pollTimer) clearTimeout(this.pollTimer);
      this.pollTimer = setTimeout(() => this.markDirty(), Math.min(...delays));
    }
  }

  /** One full pass from the caches. Returns true when something waits on workflows and needs a recheck. */
  private async reconcile(report: ReconcileReport): Promise<boolean> {
    const cached = this.nodeENIs.list() as NodeENIObject[];
    // Every decision sees all of a NodeENI's attachments (the objects'); the status write compares with the object.
    const nodeENIs = this.views(cached);
    const cachedByName = new Map(cached.map((n) => [n.metadata.name, n]));
    const nodes = this.nodes.list();
    let waiting = false;
    this.deferMs = undefined;

    // The finalizer first: a NodeENI must not vanish while its pairs may still hold ENIs. Pairs start only for a
    // NodeENI that carries it: one the cache still shows but the apiserver no longer has (404) gets none.
    const unguarded = new Set<string>();
    const gone = new Set<string>();
    for (const n of nodeENIs) {
      if (!n.metadata.deletionTimestamp && !(n.metadata.finalizers ?? []).includes(NODEENI_FINALIZER)) {
        const r = await this.addFinalizer(n);
        if (r === 'ok') this.counters.finalizersAdded++;
        else {
          unguarded.add(n.metadata.name);
          if (r === 'gone') gone.add(n.metadata.name);
          this.retry = true;
        }
      }
    }

    const desired = desiredPairs(
      nodeENIs.filter((n) => !unguarded.has(n.metadata.name)),
      nodes,
    );
    const known = new Set<string>([...this.running, ...this.sent.keys(), ...this.released.keys()]);
    for (const n of nodeENIs) for (const id of pairsFromStatus(n)) known.add(id);
    // A watcher scoped by a selector cannot tell a deleted NodeENI from one out of its scope by its cache: it asks
    // the apiserver about the NodeENIs its pairs name, and releases the pairs of those that are gone.
    if (this.o.nodeENISelector) for (const name of await this.confirmGone(missingNodeENIs(known, nodeENIs))) gone.add(name);
    const sentKeys = new Map([...this.sent].map(([id, s]) => [id, s.key]));
    const plan = planReconcile({
      desired,
      sent: sentKeys,
      known,
      released: new Set(this.released.keys()),
      nodeENIs,
      nodes,
      releaseOrphans: !this.o.nodeENISelector,
      confirmedGone: gone,
    });

    await mapLimit(plan.signals, PARALLEL_CALLS, async (d) => {
      if (await this.sendSpec(d)) report.signals++;
      else this.retry = true;
    });
    await mapLimit(plan.blocked, PARALLEL_CALLS, async (d) => {
      const id = lifecycleWorkflowId(d.nodeENI, d.nodeName);
      const state = await this.workflowRunning(id);
      if (state === 'running') {
        waiting = true;
        return;
      }
      if (state === 'unknown') {
        this.retry = true;
        return;
      }
      // The released run has finished: start the pair afresh.
      this.released.delete(id);
      if (await this.sendSpec(d)) report.signals++;
      else this.retry = true;
    });
    await mapLimit(plan.releases, PARALLEL_CALLS, async (r) => {
      if (await this.sendRelease(r)) report.releases++;
      else this.retry = true;
    });

    const desiredNodes = new Map<string, string[]>();
    for (const d of desired.values()) desiredNodes.set(d.nodeENI, [...(desiredNodes.get(d.nodeENI) ?? []), d.nodeName]);
    for (const n of nodeENIs) {
      const status = await this.writeStatus(cachedByName.get(n.metadata.name)!, n, desiredNodes.get(n.metadata.name) ?? []);
      if (status === 'written') report.statusWrites++;
      if (status === 'failed') this.retry = true;
      await this.warnInvalidSpec(n);
      if (n.metadata.deletionTimestamp && (n.metadata.finalizers ?? []).includes(NODEENI_FINALIZER)) {
        if (!(await this.finishDeletion(n, known))) waiting = true;
      }
    }
    if (this.o.readinessGate) await this.applyReadinessGate(nodeENIs, nodes, this.o.readinessGate);
    if (!this.o.nodeENISelector) await this.deleteOrphanObjects(cached, known);
    this.forgetGone(nodeENIs);
    return waiting;
  }

  /**
   * Deletes objects no pair will: their NodeENI is gone (or is a newer one of the same name) and their pair's
   * workflow is not running. Kubernetes' garbage collector does the same where a kube-controller-manager runs.
   */
  private async deleteOrphanObjects(nodeENIs: readonly NodeENIObject[], known: ReadonlySet<string>): Promise<void> {
    const byName = new Map(nodeENIs.map((n) => [n.metadata.name, n]));
    const orphans = (this.attachmentObjects.list() as AttachmentObject[]).filter((o) => {
      const n = byName.get(o.spec.nodeENI);
      if (n && ownedBy(o, n)) return false;
      const id = lifecycleWorkflowId(o.spec.nodeENI, o.spec.nodeName);
      return !this.running.has(id) && !this.sent.has(id) && !(n && known.has(id));
    });
    await mapLimit(orphans, PARALLEL_CALLS, async (o) => {
      try {
        await this.custom.deleteClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_ATTACHMENT_PLURAL, name: o.metadata.name });
        this.log.info(`NodeENIAttachment ${o.metadata.name} deleted: its NodeENI ${o.spec.nodeENI} is gone and no pair runs`);
      } catch (err) {
        if (httpCode(err) !== 404) this.log.warn(`deleting NodeENIAttachment ${o.metadata.name} failed: ${msg(err)}`);
      }
    });
  }

  /**
   * The readiness gate's I/O: patches only the nodes whose taint or label is out of date (node-readiness.ts decides).
   * A node patched by this process is skipped until the informer shows the patch, so a lagging cache costs no call.
   */
  private async applyReadinessGate(nodeENIs: readonly NodeENIObject[], nodes: readonly V1Node[], gate: ReadinessGate): Promise<void> {
    const current = nodes.filter((n) => {
      const name = n.metadata?.name ?? '';
      const base = this.nodePatched.get(name);
      if (base === undefined) return true;
      if (base === n.metadata?.resourceVersion) return false;
      this.nodePatched.delete(name);
      return true;
    });
    const present = new Set(nodes.map((n) => n.metadata?.name));
    for (const name of this.nodePatched.keys()) if (!present.has(name)) this.nodePatched.delete(name);
    const indexed = indexNodeENIs(nodeENIs);
    const byName = new Map(current.map((n) => [n.metadata?.name ?? '', n]));
    const changes = current.flatMap((n) => planNode(indexed, n as GateNode, gate) ?? []);
    await mapLimit(changes, PARALLEL_CALLS, async (c) => {
      if (!(await this.patchNodeGate(byName.get(c.name)!, c, indexed, gate))) this.retry = true;
    });
  }

  /** Applies one change by a merge patch conditional on the resourceVersion; on a conflict, reads the node and decides again. */
  private async patchNodeGate(node: V1Node, change: NodeChange, indexed: readonly IndexedNodeENI[], gate: ReadinessGate): Promise<boolean> {
    let n: GateNode = node as GateNode;
    let c: NodeChange | undefined = change;
    for (let attempt = 1; c; attempt++) {
      try {
        await this.core.patchNode(
          { name: c.name, body: gatePatch(n, c, gate), fieldManager: FIELD_MANAGER_WATCHER },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        this.nodePatched.set(c.name, n.metadata?.resourceVersion ?? '');
        this.counters.nodesPatched++;
        this.log.info(`readiness gate: ${describeChange(c, gate)}`);
        return true;
      } catch (err) {
        const code = httpCode(err);
        if (code === 404) return true;
        if (code !== 409 || attempt >= 5) {
          this.log.warn(`readiness gate: patching node ${c.name} failed: ${msg(err)}`);
          return false;
        }
      }
      try {
        n = (await this.core.readNode({ name: c.name })) as GateNode;
      } catch (err) {
        if (httpCode(err) === 404) return true;
        this.log.warn(`readiness gate: reading node ${c.name} failed: ${msg(err)}`);
        return false;
      }
      c = planNode(indexed, n, gate);
    }
    return true;
  }

  private async sendSpec(d: DesiredPair): Promise<boolean> {
    const workflowId = lifecycleWorkflowId(d.nodeENI, d.nodeName);
    try {
      await this.client.workflow.signalWithStart<(input: LifecycleInput) => Promise<void>, [DesiredPair]>(WORKFLOW_TYPE_LIFECYCLE, {
        workflowId,
        taskQueue: this.taskQueue,
        args: [{ desired: d, ...(this.o.historyLimit ? { historyLimit: this.o.historyLimit } : {}) }],
        signal: SIGNAL_SPEC,
        signalArgs: [d],
        // A pair released earlier (node relabelled, NodeENI re-created) must be able to start a new run.
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
        typedSearchAttributes: [
          { key: SA_NODEENI, value: d.nodeENI },
          { key: SA_NODE_NAME, value: d.nodeName },
          { key: SA_INSTANCE_ID, value: d.instanceId },
          // Set at start, free: the workflow upserts it only when a pass ends.
          { key: SA_ENI_PHASE, value: 'Pending' },
        ],
        staticSummary: `ENIs of NodeENI ${d.nodeENI} on node ${d.nodeName} (${d.instanceId})`,
      });
      this.sent.set(workflowId, { key: pairKey(d), atMs: Date.now() });
      this.released.delete(workflowId);
      this.counters.signalsSent++;
      return true;
    } catch (err) {
      this.counters.signalErrors++;
      this.log.warn(`spec signal to ${workflowId} failed: ${msg(err)}`);
      return false;
    }
  }

  private async sendRelease(r: PlannedRelease): Promise<boolean> {
    try {
      await this.client.workflow.getHandle(r.workflowId).signal(SIGNAL_RELEASE, { reason: r.reason } satisfies ReleaseRequest);
      this.counters.releasesSent++;
      this.log.info(`release ${r.workflowId}: ${r.reason}`);
    } catch (err) {
      // Not found covers "already completed": nothing left to release.
      if (!(err instanceof WorkflowNotFoundError)) {
        this.counters.signalErrors++;
        this.log.warn(`release signal to ${r.workflowId} failed: ${msg(err)}`);
        return false;
      }
    }
    this.released.set(r.workflowId, Date.now());
    this.sent.delete(r.workflowId);
    return true;
  }

  private async workflowRunning(workflowId: string): Promise<'running' | 'finished' | 'unknown'> {
    try {
      const d = await this.client.workflow.getHandle(workflowId).describe();
      return d.status.name === 'RUNNING' ? 'running' : 'finished';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return 'finished';
      this.log.warn(`describe ${workflowId} failed: ${msg(err)}`);
      return 'unknown';
    }
  }

  /** Adds our finalizer, keeping any others; the resourceVersion makes a concurrent change fail instead of being lost. */
  private async addFinalizer(n: NodeENIObject): Promise<'ok' | 'gone' | 'failed'> {
    return this.patchFinalizers(n, [...(n.metadata.finalizers ?? []), NODEENI_FINALIZER]);
  }

  /** The names among `names` that the apiserver has no NodeENI for (404); errors count as not gone. */
  private async confirmGone(names: string[]): Promise<string[]> {
    const gone: string[] = [];
    await mapLimit(names, PARALLEL_CALLS, async (name) => {
      try {
        await this.custom.getClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, name });
      } catch (err) {
        if (httpCode(err) === 404) gone.push(name);
        else {
          this.log.warn(`looking up NodeENI ${name} failed: ${msg(err)}`);
          this.retry = true;
        }
      }
    });
    return gone;
  }

  private async patchFinalizers(n: NodeENIObject, finalizers: string[]): Promise<'ok' | 'gone' | 'failed'> {
    try {
      await this.custom.patchClusterCustomObject(
        {
          group: API_GROUP,
          version: API_VERSION,
          plural: NODEENI_PLURAL,
          name: n.metadata.name,
          body: { metadata: { finalizers, resourceVersion: n.metadata.resourceVersion } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      return 'ok';
    } catch (err) {
      // 409: the object changed since the cache saw it; 404: it is gone. The informer brings the news.
      const code = httpCode(err);
      if (code === 404) return 'gone';
      if (code !== 409) this.log.warn(`finalizer update on NodeENI ${n.metadata.name} failed: ${msg(err)}`);
      return 'failed';
    }
  }

  /**
   * Removes the finalizer once no pair of this NodeENI runs. Every pair known for it is described (the running
   * list may be stale), and a visibility query by the NodeENI search attribute catches runs this process never saw.
   */
  private async finishDeletion(n: NodeENIObject, known: ReadonlySet<string>): Promise<boolean> {
    const name = n.metadata.name;
    const ids = [...known].filter((id) => parseLifecycleWorkflowId(id)?.nodeENI === name);
    const states = await Promise.all(ids.map((id) => this.workflowRunning(id)));
    if (states.some((s) => s !== 'finished')) return false;
    try {
      const query = `WorkflowType="${WORKFLOW_TYPE_LIFECYCLE}" AND ExecutionStatus="Running" AND TaskQueue="${this.taskQueue}" AND NodeENI="${name}"`;
      for await (const wf of this.client.workflow.list({ query, pageSize: 100 })) {
        if (!this.released.has(wf.workflowId)) {
          const parsed = parseLifecycleWorkflowId(wf.workflowId);
          if (parsed) await this.sendRelease({ workflowId: wf.workflowId, ...parsed, reason: `NodeENI ${name} is being deleted` });
        }
        return false;
      }
    } catch (err) {
      this.log.warn(`listing running pairs of NodeENI ${name} failed: ${msg(err)}`);
      return false;
    }
    const ok = (await this.patchFinalizers(n, (n.metadata.finalizers ?? []).filter((f) => f !== NODEENI_FINALIZER))) !== 'failed';
    if (ok) {
      this.counters.finalizersRemoved++;
      this.log.info(`NodeENI ${name}: every pair finished; finalizer removed`);
    }
    return ok;
  }

  /**
   * Writes conditions, counts and the bounded attachments list by a merge patch (it replaces the list whole), only
   * when they differ from what the object holds, and at most once per statusMinIntervalMs per NodeENI.
   * `n` is the cached object, `view` the same with every attachment (what the conditions are computed from).
   */
  private async writeStatus(n: NodeENIObject, view: NodeENIObject, desiredNodes: string[]): Promise<'unchanged' | 'written' | 'deferred' | 'failed'> {
    const name = n.metadata.name;
    const rv = n.metadata.resourceVersion ?? '';
    const pendingWrite = this.lastWrite.get(name);
    // Until the informer shows our write, compare against what we wrote rather than the older cached object.
    const held = pendingWrite && pendingWrite.baseResourceVersion === rv ? { ...n.status, ...pendingWrite.status } : n.status;
    if (pendingWrite && pendingWrite.baseResourceVersion !== rv) this.lastWrite.delete(name);
    const next = computeStatus({
      nodeENI: { ...view, status: { ...held, attachments: view.status?.attachments ?? [] } },
      desiredNodes,
      now: nowRfc3339(),
      listLimit: this.o.statusAttachmentsLimit ?? DEFAULT_STATUS_ATTACHMENTS_LIMIT,
    });
    if (!statusChanged(held, next)) return 'unchanged';
    const minGap = this.o.statusMinIntervalMs ?? 1000;
    const since = Date.now() - (this.lastWriteAt.get(name) ?? 0);
    if (since < minGap) {
      this.deferMs = Math.min(this.deferMs ?? Infinity, minGap - since);
      return 'deferred';
    }
    try {
      await this.custom.patchClusterCustomObjectStatus(
        { group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, name, body: { status: next }, fieldManager: FIELD_MANAGER_WATCHER },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      this.lastWrite.set(name, { baseResourceVersion: rv, status: next });
      this.lastWriteAt.set(name, Date.now());
      this.counters.statusWrites++;
      return 'written';
    } catch (err) {
      if (httpCode(err) === 404) return 'unchanged';
      this.log.warn(`status write on NodeENI ${name} failed: ${msg(err)}`);
      return 'failed';
    }
  }

  /** One Warning per generation: the Degraded/InvalidSpec condition at this generation records that it was sent. */
  private async warnInvalidSpec(n: NodeENIObject): Promise<void> {
    const parsed = parseSpec(n.spec);
    if (parsed.ok || n.metadata.deletionTimestamp) return;
    const generation = n.metadata.generation ?? 0;
    const key = `${n.metadata.name}/${n.metadata.uid ?? ''}/${generation}`;
    if (this.warned.has(key) || invalidSpecReported(n)) return;
    this.warned.add(key);
    const written = await recordNodeENIEvent(
      this.core,
      { name: n.metadata.name, uid: n.metadata.uid },
      {
        type: 'Warning',
        reason: 'InvalidSpec',
        message: `generation ${generation}: ${parsed.error}; ENIs already attached are left as they are until the spec is fixed`,
      },
      { namespace: this.o.eventNamespace ?? EVENT_NAMESPACE, instance: this.o.identity, onError: (e) => this.log.warn(`InvalidSpec event not written: ${msg(e)}`) },
    );
    if (written) this.counters.eventsWritten++;
  }

  /** Drops memory of NodeENIs that no longer exist once their pairs are not running (bounded memory). */
  private forgetGone(nodeENIs: readonly NodeENIObject[]): void {
    const names = new Set(nodeENIs.map((n) => n.metadata.name));
    for (const name of this.lastWrite.keys()) if (!names.has(name)) this.lastWrite.delete(name);
    for (const name of this.lastWriteAt.keys()) if (!names.has(name)) this.lastWriteAt.delete(name);
    for (const key of this.warned) if (!names.has(key.split('/')[0]!)) this.warned.delete(key);
    for (const id of this.sent.keys()) {
      const p = parseLifecycleWorkflowId(id);
      // Sent but never released: kept, so a watcher that sees every NodeENI releases the orphan.
      if (p && !names.has(p.nodeENI) && this.o.nodeENISelector) this.sent.delete(id);
    }
  }
}
