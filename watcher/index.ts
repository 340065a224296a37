// The watcher as a library: `startWatcher` runs it in-process (the process entry, tests and the demo all use it).
// With leader election only the replica holding the Lease runs informers and reconciles; every new term starts
// from scratch, which is safe because the watcher keeps no state a restart would lose.
import os from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import type { NodeENI } from '../common/nodeeni.js';
import { LeaderElector } from './leader.js';
import type { ReadinessGate } from './node-readiness.js';
import { NodeENIWatcher, consoleLogger, newCounters, type Logger, type ReconcileReport, type WatcherCounters } from './watcher.js';

export { NodeENIWatcher, newCounters, consoleLogger, SA_NODEENI, SA_NODE_NAME, SA_INSTANCE_ID, SA_ENI_PHASE } from './watcher.js';
export type { WatcherCounters, ReconcileReport, Logger } from './watcher.js';
export { LeaderElector, decideLease } from './leader.js';
export { clusterSnapshot, type ClusterSnapshot } from './cluster-metrics.js';
export { recordNodeENIEvent, buildNodeENIEvent, EVENT_NAMESPACE } from './events.js';
export type { EventSpec, EventObject, EventOptions } from './events.js';
export { DEFAULT_LABEL, DEFAULT_TAINT_KEY, parseGateLabel, parseGateNodeSelector, qualifiedNameError } from './node-readiness.js';
export type { ReadinessGate } from './node-readiness.js';

export interface LeaderElectionOptions {
  /** Namespace and name of the coordination.k8s.io/v1 Lease. */
  namespace: string;
  name: string;
  leaseDurationSeconds?: number;
  renewIntervalSeconds?: number;
  retryIntervalSeconds?: number;
}

export interface StartWatcherOptions {
  kubeConfig: KubeConfig;
  /** Temporal client (its namespace is the one the pair workflows live in). */
  client: Client;
  /** Task queue of the pair workflows; default `multi-eni-controller`. */
  taskQueue?: string;
  /** Full relist period (informers and running workflows); default 300 s. */
  relistSeconds?: number;
  /** History events after which a pair at rest continues as new (set on the pairs it starts); default the workflow's 8000. */
  historyLimit?: number;
  /** Debounce of the reconcile loop; default 150 ms. */
  debounceMs?: number;
  /** Recheck period while waiting on workflows (deletions, re-added pairs); default 2000 ms. */
  pollIntervalMs?: number;
  /** Label selector scoping the NodeENIs this watcher manages; unset = all. */
  nodeENISelector?: string;
  /** Namespace of Events on NodeENIs; default `default`. */
  eventNamespace?: string;
  /** This replica's identity (Lease holder, Event reportingInstance); default `<hostname>-<pid>`. */
  identity?: string;
  /** Lease-based leader election; unset or false runs the watcher at once. */
  leaderElection?: LeaderElectionOptions | false;
  /** Shared counters, e.g. read by a Prometheus collector; one is created when absent. */
  counters?: WatcherCounters;
  onReconcile?: (r: ReconcileReport) => void;
  onLeadershipChange?: (leading: boolean) => void;
  logger?: Logger;
  /** The readiness gate (startup taint removed, ready label kept up to date on Nodes); unset = off. */
  readinessGate?: ReadinessGate;
  /** Attachments listed in a NodeENI's status.attachments; default 50 (all are in the NodeENIAttachment objects). */
  statusAttachmentsLimit?: number;
  /** Least time between two status writes of one NodeENI; default 1000 ms. */
  statusMinIntervalMs?: number;
}

export interface WatcherHandle {
  /** Stops reconciling and informers; with leader election also gives the Lease up. */
  stop(): Promise<void>;
  /** True while this replica runs the reconcile loop (always, without leader election, once started). */
  isLeader(): boolean;
  /** True when reconciles run: leader and caches loaded. */
  isReady(): boolean;
  /** The NodeENIs as the leader's cache holds them; undefined on a replica not leading, or before its cache loaded. */
  nodeENIs(): readonly NodeENI[] | undefined;
  readonly counters: WatcherCounters;
  readonly identity: string;
}

export function defaultIdentity(): string {
  return `${process.env.POD_NAME || os.hostname()}-${process.pid}`;
}

export function startWatcher(options: StartWatcherOptions): WatcherHandle {
  const identity = options.identity ?? defaultIdentity();
  const counters = options.counters ?? newCounters();
  const log = options.logger ?? consoleLogger;
  let current: NodeENIWatcher | undefined;

  const begin = () => {
    current = new NodeENIWatcher({
      kubeConfig: options.kubeConfig,
      client: options.client,
      taskQueue: options.taskQueue,
      relistIntervalMs: (options.relistSeconds ?? 300) * 1000,
      historyLimit: options.historyLimit,
      debounceMs: options.debounceMs,
      pollIntervalMs: options.pollIntervalMs,
      nodeENISelector: options.nodeENISelector,
      eventNamespace: options.eventNamespace,
      identity,
      counters,
      onReconcile: options.onReconcile,
      logger: log,
      readinessGate: options.readinessGate,
      statusAttachmentsLimit: options.statusAttachmentsLimit,
      statusMinIntervalMs: options.statusMinIntervalMs,
    });
    current.start();
    options.onLeadershipChange?.(true);
  };
  const end = async () => {
    const w = current;
    if (!w) return;
    current = undefined;
    await w.stop();
    options.onLeadershipChange?.(false);
  };

  const le = options.leaderElection;
  if (!le) {
    begin();
    return {
      stop: end,
      isLeader: () => current !== undefined,
      isReady: () => current?.isReady() ?? false,
      nodeENIs: () => current?.cachedNodeENIs(),
      counters,
      identity,
    };
  }

  const elector = new LeaderElector({
    kubeConfig: options.kubeConfig,
    namespace: le.namespace,
    name: le.name,
    identity,
    leaseDurationMs: (le.leaseDurationSeconds ?? 15) * 1000,
    renewIntervalMs: (le.renewIntervalSeconds ?? 5) * 1000,
    retryIntervalMs: (le.retryIntervalSeconds ?? 2) * 1000,
    onStartedLeading: begin,
    onStoppedLeading: end,
    log: (m) => log.info(m),
  });
  elector.start();
  return {
    stop: async () => {
      await elector.stop();
      await end();
    },
    isLeader: () => elector.isLeader(),
    isReady: () => elector.isLeader() && (current?.isReady() ?? false),
    nodeENIs: () => (elector.isLeader() ? current?.cachedNodeENIs() : undefined),
    counters,
    identity,
  };
}
