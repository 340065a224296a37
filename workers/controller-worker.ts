// The controller worker: lifecycle and fleet workflows plus EC2 and fleet activities on `multi-eni-controller`;
// the lifecycles' Kubernetes activities on `multi-eni-controller-kube`. EC2 calls wait in-process on the per-action
// EC2 budget (workers/ec2-budget.ts); a task-queue rate limit (enforced by the server) only when one is configured.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { Context } from '@temporalio/activity';
import { Client, Connection, ScheduleOverlapPolicy } from '@temporalio/client';
import type { TemporalConnectionSettings } from '../common/temporal-connection.js';
import type { KubeConfig } from '@kubernetes/client-node';
import { createEc2Activities } from '../activities/ec2.js';
import { createKubeActivities, kubeProviderIdLookup } from '../activities/kube.js';
import { NodeInstanceCheck } from '../activities/node-check.js';
import { createFleetActivities } from '../activities/fleet.js';
import { CONTROLLER_TASK_QUEUE, FLEET_SCHEDULE_ID, kubeTaskQueue, SEARCH_ATTRIBUTES, WORKFLOW_TYPE_FLEET } from '../common/names.js';
import { makeEc2Client } from '../activities/aws/ec2-client.js';
import { Ec2Budget, type BudgetSettings } from '../activities/aws/ec2-budget.js';
import type { ControllerMetrics } from './metrics.js';
import { countLeakDeletes } from './leak-metrics.js';
import { isNamespaceNotFound } from './readiness.js';

export interface ControllerWorkerOptions {
  connection: TemporalConnectionSettings;
  namespace: string;
  kc: KubeConfig;
  region: string;
  ec2Endpoint?: string;
  clusterName: string;
  /** Activities per second for the whole task queue, enforced by the server across replicas; unset = no limit. */
  ec2RatePerSecond?: number;
  /** This process's share of EC2's per-action buckets (scale) and an account's raised limits (overrides). */
  ec2Budget?: BudgetSettings;
  maxConcurrentActivities: number;
  /** Workflows kept in memory (sticky cache); others replay from history when they next run. */
  maxCachedWorkflows?: number;
  fleetSweepSeconds: number;
  leakCooldownSeconds: number;
  taskQueue?: string;
  fleetScheduleId?: string;
  /**
   * Runs the namespace's set-up (search attributes, the fleet schedule), waiting out "namespace not found" while the
   * namespace is new to some Temporal service; other failures are thrown. Default: one try.
   */
  untilNamespaceKnown?: (setUp: () => Promise<void>) => Promise<void>;
  metrics?: ControllerMetrics;
  /** Poll interval of the attach/detach waits. */
  pollMs?: number;
}

/** Longest wait for an EC2 token before a call is refused and retried later; below the EC2 activities' 10 min bound. */
const BUDGET_MAX_WAIT_MS = 8 * 60_000;

function heartbeatIfInActivity(): void {
  try {
    Context.current().heartbeat();
  } catch {
    // Not inside an activity (a call from elsewhere in the process): nothing to report to.
  }
}

const here = path.dirname(fileURLToPath(import.meta.url));

/** The prebuilt workflow bundle (npm run build) when present, else the workflows' source. */
export function workflowCode(): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  const bundle = path.resolve(here, '..', 'workflow-bundle.js');
  if (fs.existsSync(bundle)) return { workflowBundle: { codePath: bundle } };
  const js = path.resolve(here, '..', 'workflows', 'index.js');
  return { workflowsPath: fs.existsSync(js) ? js : path.resolve(here, '..', 'workflows', 'index.ts') };
}

/** Registers the project's search attributes where missing (self-hosted; Temporal Cloud needs them made beforehand). */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const types = { Keyword: 2, KeywordList: 7 } as const; // temporal.api.enums.v1.IndexedValueType
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = { ...existing.customAttributes, ...existing.systemAttributes };
  const missing = Object.entries(SEARCH_ATTRIBUTES).filter(([name]) => !(name in known));
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map(([name, t]) => [name, types[t]])),
  });
  return missing.map(([n]) => n);
}

/** Creates the fleet sweep schedule, or updates its interval; idempotent across replicas. */
export async function ensureFleetSchedule(client: Client, taskQueue: string, everySeconds: number, leakCooldownSeconds: number, scheduleId = FLEET_SCHEDULE_ID): Promise<void> {
  const spec = { intervals: [{ every: `${everySeconds}s` }] };
  const action = { type: 'startWorkflow' as const, workflowType: WORKFLOW_TYPE_FLEET, taskQueue, args: [{ leakCooldownSeconds }] };
  try {
    await client.schedule.create({ scheduleId, spec, action, policies: { overlap: ScheduleOverlapPolicy.SKIP } });
  } catch (err) {
    if ((err as Error).name !== 'ScheduleAlreadyRunning') throw err;
    await client.schedule.getHandle(scheduleId).update((prev) => ({ ...prev, spec, action }));
  }
}

export async function createControllerWorker(o: ControllerWorkerOptions): Promise<{ workers: Worker[]; run: () => Promise<void>; client: Client; close: () => Promise<void> }> {
  const taskQueue = o.taskQueue ?? CONTROLLER_TASK_QUEUE;
  const clientConnection = await Connection.connect(o.connection);
  const client = new Client({ connection: clientConnection, namespace: o.namespace });
  await (o.untilNamespaceKnown ?? ((fn) => fn()))(async () => {
    try {
      await ensureSearchAttributes(clientConnection, o.namespace);
    } catch (err) {
      if (isNamespaceNotFound(err)) throw err;
      console.warn(`search attributes not registered (${(err as Error).message}); register NodeENI, NodeName, InstanceId, EniPhase (Keyword) and EniIds (KeywordList)`);
    }
    await ensureFleetSchedule(client, taskQueue, o.fleetSweepSeconds, o.leakCooldownSeconds, o.fleetScheduleId);
  });

  const m = o.metrics;
  const budget = new Ec2Budget({
    ...o.ec2Budget,
    onWait: m ? (bucket, ms) => (m.ec2BudgetWaits.inc({ bucket }), m.ec2BudgetWaitSeconds.inc({ bucket }, ms / 1000)) : undefined,
    onRefused: m ? (bucket) => m.ec2BudgetRefused.inc({ bucket }) : undefined,
    // EC2 activities heartbeat while they wait for a token: a long queue is progress, a dead worker is not.
    whileWaiting: heartbeatIfInActivity,
    maxWaitMs: BUDGET_MAX_WAIT_MS,
  });
  const ec2 = makeEc2Client({ region: o.region, endpoint: o.ec2Endpoint, budget, record: m ? (a, r) => m.ec2Calls.inc({ action: a, outcome: r }) : undefined });
  const kube = createKubeActivities({ kc: o.kc });
  const nodes = new NodeInstanceCheck(kubeProviderIdLookup(o.kc));
  const controllerActivities = {
    ...countLeakDeletes(
      createEc2Activities({ ec2, clusterName: o.clusterName, pollMs: o.pollMs, nodeCheck: (node, instance) => nodes.check(node, instance) }),
      () => m?.leakedEnisDeleted.inc(),
    ),
    ...createFleetActivities({ client }),
  };
  const connection = await NativeConnection.connect(o.connection);
  const workers = [
    await Worker.create({
      connection,
      namespace: o.namespace,
      taskQueue,
      ...workflowCode(),
      activities: controllerActivities,
      ...(o.ec2RatePerSecond !== undefined ? { maxTaskQueueActivitiesPerSecond: o.ec2RatePerSecond } : {}),
      maxConcurrentActivityTaskExecutions: o.maxConcurrentActivities,
      // Pairs at rest are evicted past this many and replay on their next signal: memory stays bounded.
      maxCachedWorkflows: o.maxCachedWorkflows,
    }),
    await Worker.create({
      connection,
      namespace: o.namespace,
      taskQueue: kubeTaskQueue(taskQueue),
      activities: kube,
      maxConcurrentActivityTaskExecutions: o.maxConcurrentActivities,
    }),
  ];
  return {
    workers,
    /** Runs both workers until SIGINT/SIGTERM (which each handles by itself), or until one fails. */
    run: async () => {
      await Promise.all(
        workers.map((w) =>
          w.run().catch((err: unknown) => {
            for (const other of workers) if (other.getState() === 'RUNNING') other.shutdown();
            throw err;
          }),
        ),
      );
    },
    client,
    close: async () => {
      ec2.destroy();
      await connection.close();
      await clientConnection.close();
    },
  };
}
