// The controller worker: lifecycle and fleet workflows plus EC2 and fleet activities on `multi-eni-controller`,
// with the EC2 budget enforced by the server across every replica; the lifecycles' Kubernetes activities on
// `multi-eni-controller-kube`, so status writes and Events do not spend that budget.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { Client, Connection, ScheduleOverlapPolicy } from '@temporalio/client';
import type { TemporalConnectionSettings } from './temporal-connection.js';
import type { KubeConfig } from '@kubernetes/client-node';
import { createEc2Activities } from '../activities/ec2.js';
import { createKubeActivities } from '../activities/kube.js';
import { createFleetActivities } from '../activities/fleet.js';
import { CONTROLLER_TASK_QUEUE, FLEET_SCHEDULE_ID, kubeTaskQueue, SEARCH_ATTRIBUTES, WORKFLOW_TYPE_FLEET } from '../common/names.js';
import { makeEc2Client } from './ec2-client.js';
import type { ControllerMetrics } from './metrics.js';

export interface ControllerWorkerOptions {
  connection: TemporalConnectionSettings;
  namespace: string;
  kc: KubeConfig;
  region: string;
  ec2Endpoint?: string;
  clusterName: string;
  /** Activities per second for the whole task queue, enforced by the server across replicas. */
  ec2RatePerSecond: number;
  maxConcurrentActivities: number;
  fleetSweepSeconds: number;
  leakCooldownSeconds: number;
  taskQueue?: string;
  fleetScheduleId?: string;
  metrics?: ControllerMetrics;
  /** Poll interval of the attach/detach waits. */
  pollMs?: number;
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
  try {
    await ensureSearchAttributes(clientConnection, o.namespace);
  } catch (err) {
    console.warn(`search attributes not registered (${(err as Error).message}); register NodeENI, NodeName, InstanceId, EniPhase (Keyword) and EniIds (KeywordList)`);
  }
  await ensureFleetSchedule(client, taskQueue, o.fleetSweepSeconds, o.leakCooldownSeconds, o.fleetScheduleId);

  const ec2 = makeEc2Client({ region: o.region, endpoint: o.ec2Endpoint, record: o.metrics ? (a, r) => o.metrics!.ec2Calls.inc({ action: a, outcome: r }) : undefined });
  const kube = createKubeActivities({ kc: o.kc });
  const activities = {
    ...createEc2Activities({ ec2, clusterName: o.clusterName, pollMs: o.pollMs }),
    ...kube,
    ...createFleetActivities({ client }),
  };
  if (o.metrics) {
    const m = o.metrics;
    const apply = activities.applyPairStatus;
    activities.applyPairStatus = async (input) => {
      const ok = await apply(input);
      m.recordPairPhases(`${input.nodeENI}/${input.nodeName}`, input.attachments.map((a) => a.phase ?? 'Unknown'));
      return ok;
    };
  }
  const connection = await NativeConnection.connect(o.connection);
  const workers = [
    await Worker.create({
      connection,
      namespace: o.namespace,
      taskQueue,
      ...workflowCode(),
      // Kubernetes activities stay registered here too: lifecycles scheduled them on this queue before they had their own.
      activities,
      maxTaskQueueActivitiesPerSecond: o.ec2RatePerSecond,
      maxConcurrentActivityTaskExecutions: o.maxConcurrentActivities,
    }),
    await Worker.create({
      connection,
      namespace: o.namespace,
      taskQueue: kubeTaskQueue(taskQueue),
      activities: { applyPairStatus: activities.applyPairStatus, emitEvent: activities.emitEvent },
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
