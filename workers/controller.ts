// Process entry of the controller: the Temporal worker (every replica) and the watcher (the replica that
// holds the Lease). Configuration comes from the environment and is validated before anything starts.
import { KubeConfig } from '@kubernetes/client-node';
import { Runtime } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { z } from 'zod';
import { createControllerWorker } from './controller-worker.js';
import { CONTROLLER_TASK_QUEUE, FLEET_SCHEDULE_ID } from '../common/names.js';
import { ControllerMetrics, serveMetrics } from './metrics.js';
import { TemporalEnvSchema, parseEnvOrExit, temporalConnectionOptions, type TemporalConnectionSettings } from '../common/temporal-connection.js';
import { Readiness, isNamespaceNotFound, retryUntilReady } from './readiness.js';
import { Ec2BudgetEnvSchema } from '../activities/aws/ec2-budget.js';
import { ClusterNameSchema } from './cluster-name.js';
import { ReadinessGateEnvSchema, readinessGateFromEnv } from '../watcher/readiness-gate-env.js';
import { LOG_LEVELS, createLogger, messageLogger, temporalLogger, type Pino } from '../common/logger.js';

const flag = z.enum(['true', 'false']).transform((v) => v === 'true');
const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

export const ControllerEnvSchema = TemporalEnvSchema.extend({
  AWS_REGION: z.string().min(1).default('us-east-1'),
  /** EC2 endpoint override (an emulator, or a VPC endpoint); unset = AWS's own. */
  EC2_ENDPOINT: z.url().optional(),
  /** Names this cluster in the ENIs' cluster tag, which the fleet sweep scans by. Required (workers/cluster-name.ts). */
  CLUSTER_NAME: ClusterNameSchema,
  /**
   * Optional: activities per second on the controller task queue across all replicas, enforced by the Temporal
   * server. Unset (the default) = none; the EC2 budget (EC2_BUDGET_*) paces EC2 calls per action instead.
   */
  EC2_RATE_LIMIT: z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().positive().optional()),
  ...Ec2BudgetEnvSchema.shape,
  /** Per replica; EC2 activities wait for budget tokens while holding a slot (an idle promise), hence many. */
  MAX_CONCURRENT_ACTIVITIES: int(1000, 1),
  /** Pair workflows kept in memory per replica; the rest are evicted and replay from history on their next task. */
  MAX_CACHED_WORKFLOWS: int(150, 0),
  FLEET_SWEEP_SECONDS: int(300, 10),
  LEAK_COOLDOWN_SECONDS: int(900, 0),
  METRICS_PORT: int(9090),
  /** Which parts this process runs: `worker`, `watcher`, or both. */
  COMPONENTS: z
    .string()
    .default('worker,watcher')
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(z.enum(['worker', 'watcher'])).min(1)),
  LEADER_ELECTION: flag.default(true),
  LEASE_NAMESPACE: z.string().optional(),
  LEASE_NAME: z.string().default('multi-eni-watcher'),
  POD_NAMESPACE: z.string().default('default'),
  /** Pod and node this replica runs as/on (downward API): on every log line; the pod name is the Lease identity. */
  POD_NAME: z.string().optional(),
  NODE_NAME: z.string().optional(),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  WATCHER_RELIST_SECONDS: int(300, 5),
  /** History events after which a pair at rest continues as new (Temporal's own suggestion also counts). */
  LIFECYCLE_HISTORY_LIMIT: int(8000, 20),
  /** Label selector limiting the NodeENIs this controller manages (sharding, or tests on a shared cluster). */
  NODEENI_SELECTOR: z.string().optional(),
  POLL_MS: int(1000, 50),
  /** Attachments listed in a NodeENI's status.attachments (for readers of the Go controller's status); all are in NodeENIAttachments. */
  STATUS_ATTACHMENTS_LIMIT: int(50, 0),
  /** Least time between two status writes of one NodeENI, however many of its pairs change. */
  STATUS_MIN_INTERVAL_MS: int(1000, 0),
  /** Task queue of the workflows and controller activities; another one isolates a second installation. */
  TASK_QUEUE: z.string().min(1).default(CONTROLLER_TASK_QUEUE),
  FLEET_SCHEDULE_ID: z.string().min(1).default(FLEET_SCHEDULE_ID),
  ...ReadinessGateEnvSchema.shape,
});

// One JSON object per line (common/logger.ts); the Temporal SDK's and the watcher's lines go through it too.
let logger: Pino = createLogger({ component: 'controller' });

async function main(): Promise<void> {
  const env = parseEnvOrExit(ControllerEnvSchema);
  logger = createLogger({ component: 'controller', bindings: { pod: env.POD_NAME, node: env.NODE_NAME }, level: env.LOG_LEVEL });
  const metrics = new ControllerMetrics();
  const sdkMetricsPort = env.METRICS_PORT ? env.METRICS_PORT + 1 : 0;
  Runtime.install({
    logger: temporalLogger(logger.child({ scope: 'temporal-sdk' })),
    ...(sdkMetricsPort ? { telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${sdkMetricsPort}` } } } } : {}),
  });
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const connection = temporalConnectionOptions(env);
  const stops: (() => Promise<void>)[] = [];
  const readiness = new Readiness();
  readiness.set('start-up', 'starting');
  const server = serveMetrics(metrics, env.METRICS_PORT, sdkMetricsPort ? `http://127.0.0.1:${sdkMetricsPort}/metrics` : undefined, readiness);

  // Temporal first (the watcher and the worker both need it): waited for with backoff, not ready meanwhile, instead
  // of exiting and crash-looping while Temporal starts or its namespace is being made.
  const shutdown = new AbortController();
  const onSignal = () => shutdown.abort();
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, onSignal);
  let temporal: Connection;
  try {
    temporal = await waitForTemporal(connection, env.TEMPORAL_NAMESPACE, readiness, shutdown.signal);
  } catch (err) {
    if (shutdown.signal.aborted) {
      server?.close();
      return;
    }
    throw err;
  }
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.removeListener(s, onSignal);
  const probe = watchTemporal(temporal, env.TEMPORAL_NAMESPACE, readiness);
  stops.push(async () => clearInterval(probe));

  if (env.COMPONENTS.includes('watcher')) {
    const { startWatcher, newCounters } = await import('../watcher/index.js');
    const client = new Client({ connection: temporal, namespace: env.TEMPORAL_NAMESPACE });
    let last = newCounters();
    const watcher = startWatcher({
      kubeConfig: kc,
      client,
      relistSeconds: env.WATCHER_RELIST_SECONDS,
      historyLimit: env.LIFECYCLE_HISTORY_LIMIT,
      nodeENISelector: env.NODEENI_SELECTOR,
      taskQueue: env.TASK_QUEUE,
      readinessGate: readinessGateFromEnv(env),
      statusAttachmentsLimit: env.STATUS_ATTACHMENTS_LIMIT,
      statusMinIntervalMs: env.STATUS_MIN_INTERVAL_MS,
      leaderElection: env.LEADER_ELECTION ? { namespace: env.LEASE_NAMESPACE ?? env.POD_NAMESPACE, name: env.LEASE_NAME } : false,
      logger: messageLogger(logger.child({ scope: 'watcher' })),
      onReconcile: (r) => {
        metrics.reconcileSeconds.observe(r.durationMs / 1000);
        const c = watcher.counters;
        metrics.signals.inc({ kind: 'spec' }, c.signalsSent - last.signalsSent);
        metrics.signals.inc({ kind: 'release' }, c.releasesSent - last.releasesSent);
        for (const kind of ['reconcileErrors', 'signalErrors', 'statusWrites', 'finalizersAdded', 'finalizersRemoved', 'eventsWritten', 'nodesPatched'] as const) {
          metrics.watcherOps.inc({ kind }, c[kind] - last[kind]);
        }
        last = { ...c };
      },
    });
    stops.push(() => watcher.stop());
    // Cluster-wide gauges from the leader's cache; a replica not leading exports none (no double count, nothing stale).
    metrics.setClusterSource(() => watcher.nodeENIs());
    readiness.check('watcher', () => (watcher.isLeader() && !watcher.isReady() ? 'leading, NodeENI and Node caches not loaded yet' : undefined));
  }

  let run: Promise<void> = Promise.resolve();
  if (env.COMPONENTS.includes('worker')) {
    const cw = await createControllerWorker({
      connection,
      namespace: env.TEMPORAL_NAMESPACE,
      kc,
      region: env.AWS_REGION,
      ec2Endpoint: env.EC2_ENDPOINT,
      clusterName: env.CLUSTER_NAME,
      ec2RatePerSecond: env.EC2_RATE_LIMIT,
      ec2Budget: { scale: env.EC2_BUDGET_SCALE, overrides: env.EC2_BUDGET_OVERRIDES },
      maxConcurrentActivities: env.MAX_CONCURRENT_ACTIVITIES,
      maxCachedWorkflows: env.MAX_CACHED_WORKFLOWS,
      fleetSweepSeconds: env.FLEET_SWEEP_SECONDS,
      leakCooldownSeconds: env.LEAK_COOLDOWN_SECONDS,
      metrics,
      pollMs: env.POLL_MS,
      taskQueue: env.TASK_QUEUE,
      fleetScheduleId: env.FLEET_SCHEDULE_ID,
      untilNamespaceKnown: (setUp) =>
        retryUntilReady(setUp, {
          retryIf: isNamespaceNotFound,
          onWait: (why, attempt, delayMs) => {
            const line = `namespace ${env.TEMPORAL_NAMESPACE} not known to every Temporal service yet (${why}); try ${attempt}, next in ${delayMs / 1000} s`;
            readiness.set('temporal', line);
            logger.warn({ namespace: env.TEMPORAL_NAMESPACE, error: why, attempt, retryInSeconds: delayMs / 1000 }, line);
          },
        }).finally(() => readiness.set('temporal', undefined)),
    });
    // Worker.run() stops on SIGINT/SIGTERM by itself, finishing the tasks in hand.
    run = cw.run().finally(() => cw.close());
    readiness.check('worker', () => {
      const states = cw.workers.map((w) => w.getState());
      return states.every((s) => s === 'RUNNING') ? undefined : `Temporal worker ${states.join(', ')}`;
    });
  } else {
    run = new Promise((resolve) => {
      for (const s of ['SIGINT', 'SIGTERM'] as const) process.once(s, () => resolve());
    });
  }
  readiness.set('start-up', undefined);
  logger.info({ components: env.COMPONENTS, namespace: env.TEMPORAL_NAMESPACE, cluster: env.CLUSTER_NAME }, `multi-eni controller running: ${env.COMPONENTS.join(' + ')}`);
  await run;
  for (const stop of stops) await stop();
  await temporal.close();
  server?.close();
}

/** Connects and finds the namespace, retrying with backoff (1 s … 30 s) for as long as it takes; says why meanwhile. */
async function waitForTemporal(settings: TemporalConnectionSettings, namespace: string, readiness: Readiness, signal: AbortSignal): Promise<Connection> {
  readiness.set('temporal', `connecting to ${settings.address}`);
  const c = await retryUntilReady(
    async () => {
      const conn = await Connection.connect({ ...settings, connectTimeout: '5s' });
      try {
        await conn.withDeadline(Date.now() + 5000, () => conn.workflowService.describeNamespace({ namespace }));
        return conn;
      } catch (err) {
        await conn.close();
        throw new Error(`namespace ${namespace}: ${(err as Error).message}`);
      }
    },
    {
      signal,
      onWait: (why, attempt, delayMs) => {
        const line = `Temporal at ${settings.address} not usable yet (${why}); try ${attempt}, next in ${delayMs / 1000} s`;
        readiness.set('temporal', line);
        logger.warn({ temporal: settings.address, error: why, attempt, retryInSeconds: delayMs / 1000 }, line);
      },
    },
  );
  readiness.set('temporal', undefined);
  logger.info({ temporal: settings.address, namespace }, `Temporal at ${settings.address} reached, namespace ${namespace} found`);
  return c;
}

/** Asks Temporal for the namespace every 15 s: /readyz says when the connection is lost, and again when it is back. */
function watchTemporal(conn: Connection, namespace: string, readiness: Readiness): NodeJS.Timeout {
  const timer = setInterval(() => {
    conn
      .withDeadline(Date.now() + 5000, () => conn.workflowService.describeNamespace({ namespace }))
      .then(
        () => readiness.set('temporal', undefined),
        (err: unknown) => readiness.set('temporal', `lost: ${(err as Error).message}`),
      );
  }, 15_000);
  timer.unref();
  return timer;
}

main().catch((err: unknown) => {
  logger.error({ error: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err) }, 'controller failed');
  process.exit(1);
});
