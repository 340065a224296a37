// The node agent process (DaemonSet): a Temporal worker that polls only its own node's task queue
// (`multi-eni-node/<NODE_NAME>`) and runs the node agent's activities, no workflows.
import { pathToFileURL } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { NativeConnection, Runtime, Worker, type NativeConnectionOptions } from '@temporalio/worker';
import { createLogger, temporalLogger, type Pino } from '../common/logger.js';
import { nodeTaskQueue } from '../common/names.js';
import { createNodeAgentActivities } from '../node-agent/activities.js';
import { parseNodeAgentConfig, type NodeAgentConfig } from '../node-agent/config.js';
import { temporalConnectionOptions } from '../common/temporal-connection.js';
import { kubeDevicePluginRestarter } from '../node-agent/device-plugin.js';
import { ImdsClient } from '../node-agent/imds.js';
import { NodeAgentMetrics } from '../node-agent/metrics.js';
import { serveMetrics } from './metrics.js';
import { Readiness, isNamespaceNotFound, retryUntilReady } from './readiness.js';

// One JSON object per line for everything the process logs (its own lines, the SDK's, the activities'), so
// a log pipeline can filter by node, eniId, interfaceName and action (common/logger.ts).
let logger: Pino = createLogger({ component: 'node-agent' });

function log(level: 'info' | 'warn' | 'error', message: string, attrs: Record<string, unknown> = {}): void {
  logger[level](attrs, message);
}

function fail(message: string): never {
  log('error', message);
  process.exit(1);
}

/** The Temporal connection, with the same settings (and code) as the controller's. */
export function connectionOptions(config: NodeAgentConfig): NativeConnectionOptions {
  try {
    return temporalConnectionOptions(config.temporal);
  } catch (err) {
    return fail((err as Error).message);
  }
}

export async function main(env: Record<string, string | undefined> = process.env): Promise<void> {
  const parsed = parseNodeAgentConfig(env);
  if (!parsed.ok) fail(`invalid configuration: ${parsed.errors.join('; ')}`);
  const config = parsed.config;
  logger = createLogger({ component: 'node-agent', bindings: { node: config.nodeName }, level: config.logLevel });
  // The worker drains in-flight activities on these signals, then run() returns. The SDK logs through pino too.
  Runtime.install({ shutdownSignals: ['SIGTERM', 'SIGINT'], logger: temporalLogger(logger) });

  // /healthz answers as soon as the process runs; /readyz once the worker polls this node's task queue.
  const metrics = new NodeAgentMetrics();
  const readiness = new Readiness();
  readiness.set('worker', 'not started');
  const server = serveMetrics(metrics, config.metricsPort, undefined, readiness);
  server?.on('error', (err) => fail(`METRICS_PORT ${config.metricsPort}: ${err.message}`));

  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const activities = metrics.instrument(
    createNodeAgentActivities({
      nodeName: config.nodeName,
      sysRoot: config.sysRoot,
      pcidpConfigPath: config.pcidpConfigPath,
      stateDir: config.stateDir,
      ...(config.netns ? { netns: config.netns } : {}),
      ...(config.imdsEndpoint ? { imds: new ImdsClient({ endpoint: config.imdsEndpoint }) } : {}),
      restartDevicePlugin: kubeDevicePluginRestarter({
        kubeConfig,
        nodeName: config.nodeName,
        namespace: config.devicePlugin.namespace,
        labelSelector: config.devicePlugin.labelSelector,
        log: (message, attrs) => log('info', message, attrs),
      }),
      onHardwarePoll: () => metrics.hardwarePolled(),
    }),
  );

  // Temporal is waited for with backoff (not ready meanwhile), so the pod does not crash-loop while Temporal starts.
  const address = config.temporal.TEMPORAL_ADDRESS;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  for (const s of ['SIGTERM', 'SIGINT'] as const) process.once(s, onSignal);
  readiness.set('temporal', `connecting to ${address}`);
  let connection: NativeConnection;
  try {
    connection = await retryUntilReady(() => NativeConnection.connect(connectionOptions(config)), {
      signal: stop.signal,
      onWait: (why, attempt, delayMs) => {
        readiness.set('temporal', `${address} not reachable yet (${why}); try ${attempt}`);
        log('warn', 'Temporal not reachable yet', { temporal: address, error: why, attempt, retryInSeconds: delayMs / 1000 });
      },
    });
  } catch (err) {
    server?.close();
    if (stop.signal.aborted) {
      log('info', 'node agent stopped before Temporal was reached');
      return;
    }
    throw err;
  }
  for (const s of ['SIGTERM', 'SIGINT'] as const) process.removeListener(s, onSignal);
  readiness.set('temporal', undefined);
  const taskQueue = nodeTaskQueue(config.nodeName);
  try {
    const namespace = config.temporal.TEMPORAL_NAMESPACE;
    // A namespace this frontend does not know yet (being created beside this pod) is waited out, not a crash.
    const worker = await retryUntilReady(
      () =>
        Worker.create({
          connection,
          namespace,
          taskQueue,
          activities,
          // Host changes are serialised per node anyway; a few slots let a release run beside a long link wait.
          maxConcurrentActivityTaskExecutions: 8,
          shutdownGraceTime: '30s',
        }),
      {
        retryIf: isNamespaceNotFound,
        onWait: (why, attempt, delayMs) => {
          readiness.set('temporal', `namespace ${namespace} not found yet (${why}); try ${attempt}`);
          log('warn', 'Temporal namespace not found yet', { namespace, error: why, attempt, retryInSeconds: delayMs / 1000 });
        },
      },
    );
    readiness.set('temporal', undefined);
    readiness.set('worker', undefined);
    readiness.check('worker', () => (worker.getState() === 'RUNNING' ? undefined : `Temporal worker on ${taskQueue} ${worker.getState()}`));
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => log('info', 'shutting down: finishing in-flight activities', { signal }));
    }
    log('info', 'node agent started', {
      taskQueue,
      temporal: config.temporal.TEMPORAL_ADDRESS,
      namespace: config.temporal.TEMPORAL_NAMESPACE,
      tls: connectionOptions(config).tls !== undefined,
      sysRoot: config.sysRoot,
      pcidpConfig: config.pcidpConfigPath,
      stateDir: config.stateDir,
      netns: config.netns,
      imds: config.imdsEndpoint ?? 'off',
      metricsPort: config.metricsPort || 'off',
    });
    await worker.run();
    log('info', 'node agent stopped');
  } finally {
    await connection.close();
    server?.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    log('error', 'node agent failed', { error: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  });
}
