// Process entry of the watcher: configuration from the environment, Kubernetes and Temporal clients, leader
// election, a health endpoint, graceful shutdown on SIGTERM/SIGINT (stop reconciling, give the Lease up).
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { KubeConfig } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { CONTROLLER_TASK_QUEUE } from '../common/names.js';
import { TemporalEnvSchema, parseEnvOrExit, temporalConnectionOptions } from './temporal-connection.js';
import { startWatcher, type WatcherHandle } from '../watcher/index.js';

const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

export const WatcherEnvSchema = TemporalEnvSchema.extend({
  WATCHER_RELIST_SECONDS: z.coerce.number().int().min(10).max(86400).default(300),
  WATCHER_TASK_QUEUE: z.string().min(1).default(CONTROLLER_TASK_QUEUE),
  /** Optional label selector: manage only the NodeENIs it selects. */
  WATCHER_NODEENI_SELECTOR: z.string().optional(),
  WATCHER_EVENT_NAMESPACE: z.string().min(1).default('default'),
  /** Port of /healthz and /readyz; 0 turns the endpoint off. */
  WATCHER_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  /** Address the health endpoint binds; all interfaces so the kubelet's probes reach it. */
  WATCHER_HEALTH_HOST: z.string().min(1).default('0.0.0.0'),
  LEADER_ELECTION: bool.default(true),
  POD_NAMESPACE: z.string().min(1).optional(),
  LEASE_NAMESPACE: z.string().min(1).optional(),
  LEASE_NAME: z.string().min(1).default('multi-eni-watcher'),
  POD_NAME: z.string().min(1).optional(),
});
export type WatcherEnv = z.output<typeof WatcherEnvSchema>;

function healthServer(port: number, host: string, h: WatcherHandle): http.Server {
  const server = http.createServer((req, res) => {
    // Live while the process runs; ready when this replica reconciles or is a healthy standby.
    const ok = req.url === '/healthz' || (req.url === '/readyz' && (!h.isLeader() || h.isReady()));
    res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'not ready\n');
  });
  server.listen(port, host);
  return server;
}

export async function main(): Promise<void> {
  const env = parseEnvOrExit(WatcherEnvSchema);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const connection = await Connection.connect(temporalConnectionOptions(env));
  const client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
  const identity = `${env.POD_NAME ?? os.hostname()}-${process.pid}`;

  const handle = startWatcher({
    kubeConfig,
    client,
    identity,
    taskQueue: env.WATCHER_TASK_QUEUE,
    relistSeconds: env.WATCHER_RELIST_SECONDS,
    nodeENISelector: env.WATCHER_NODEENI_SELECTOR,
    eventNamespace: env.WATCHER_EVENT_NAMESPACE,
    leaderElection: env.LEADER_ELECTION
      ? { namespace: env.LEASE_NAMESPACE ?? env.POD_NAMESPACE ?? 'default', name: env.LEASE_NAME }
      : false,
  });
  const server = env.WATCHER_HEALTH_PORT > 0 ? healthServer(env.WATCHER_HEALTH_PORT, env.WATCHER_HEALTH_HOST, handle) : undefined;
  console.log(`[watcher] started as ${identity} (task queue ${env.WATCHER_TASK_QUEUE}, leader election ${env.LEADER_ELECTION ? 'on' : 'off'})`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[watcher] ${signal}: stopping`);
    // A second signal or a hung call must not keep the pod in Terminating for ever.
    setTimeout(() => process.exit(1), 20000).unref();
    await handle.stop();
    server?.close();
    await connection.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(`[watcher] fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  });
}
