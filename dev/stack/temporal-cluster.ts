// Temporal as a cluster, as the Temporal Helm chart runs it on EKS: PostgreSQL for both the default and the
// visibility store, the chart's schema Job (temporal-sql-tool create-database, setup-schema -v 0.0, update-schema)
// and the four services (frontend, history, matching, worker) as separate `temporal-server start --service X`
// processes from one config file, each with its own gRPC and ringpop membership ports. The `default` namespace is
// created as the chart's namespace Job does it (`temporal operator namespace describe || create`). Search
// attributes are NOT registered here: the controller registers its own (workers/controller-worker.ts), as on a
// user's cluster. The Web UI is ui-server (built from its Go module, its assets embedded) pointed at the frontend,
// as the chart's `web` Deployment. Selected with MULTI_ENI_TEMPORAL=cluster (`npm run stack:up -- --temporal cluster`); the dev
// server stays the default.
import fs from 'node:fs';
import path from 'node:path';
import { execFileP, httpOk, isAlive, sleep, startDetached, stopPid, waitReady, type Started } from './processes.js';
import { TOOLS_BIN } from './paths.js';

export const CLUSTER_SERVICES = ['frontend', 'history', 'matching', 'worker'] as const;
export type ClusterService = (typeof CLUSTER_SERVICES)[number];
/** PostgreSQL, the four services, and the Web UI (ui-server, as the chart's `web` Deployment runs it). */
export type ClusterComponent = 'postgres' | `temporal-${ClusterService}` | 'temporal-ui';
export const CLUSTER_COMPONENTS: readonly ClusterComponent[] = ['postgres', ...CLUSTER_SERVICES.map((s) => `temporal-${s}` as const), 'temporal-ui'];

export type TemporalMode = 'dev' | 'cluster';
/** MULTI_ENI_TEMPORAL=cluster selects the cluster; anything else (or nothing) the dev server. */
export function temporalMode(env: NodeJS.ProcessEnv = process.env): TemporalMode {
  const v = env.MULTI_ENI_TEMPORAL ?? 'dev';
  if (v !== 'dev' && v !== 'cluster') throw new Error(`MULTI_ENI_TEMPORAL must be dev or cluster, not ${v}`);
  return v;
}

export interface ClusterPorts {
  postgres: number;
  frontend: { grpc: number; membership: number; http: number };
  history: { grpc: number; membership: number };
  matching: { grpc: number; membership: number };
  worker: { grpc: number; membership: number };
  /** The Web UI's HTTP port. */
  ui: number;
}

/**
 * Ports from a stack's port base (see paths.ts stackPorts): the frontend takes the dev server's gRPC port (base + 33)
 * and the Web UI the dev server's UI port (base + 80), so clients and people address either engine the same way; the
 * rest sit in base + 32 and base + 34 … + 41, unused by the stack.
 */
export function clusterPorts(base: number): ClusterPorts {
  return {
    postgres: base + 32,
    frontend: { grpc: base + 33, membership: base + 34, http: base + 35 },
    history: { grpc: base + 36, membership: base + 37 },
    matching: { grpc: base + 38, membership: base + 39 },
    worker: { grpc: base + 40, membership: base + 41 },
    ui: base + 80,
  };
}

export function clusterPortList(p: ClusterPorts): number[] {
  return [p.postgres, p.frontend.grpc, p.frontend.membership, p.frontend.http, ...(['history', 'matching', 'worker'] as const).flatMap((s) => [p[s].grpc, p[s].membership]), p.ui];
}

/** The databases and the SQL user of the chart's default values (postgres12, trust auth on loopback here). */
export const PG_USER = 'temporal';
export const PG_PASSWORD = 'temporal';
export const STORES = [
  { name: 'default', database: 'temporal', schema: 'temporal' },
  { name: 'visibility', database: 'temporal_visibility', schema: 'visibility' },
] as const;

export interface ClusterConfigInput {
  ports: ClusterPorts;
  numHistoryShards: number;
  dynamicConfigFile: string;
  logLevel?: string;
}

/** A YAML string scalar, quoted (JSON strings are valid YAML double-quoted scalars). */
const q = (s: string) => JSON.stringify(s);

/** The server's config file (pure): one file for all four services, as the chart's ConfigMap is. */
export function clusterConfigYaml(c: ClusterConfigInput): string {
  if (!Number.isInteger(c.numHistoryShards) || c.numHistoryShards < 1) throw new Error(`numHistoryShards must be a positive integer, not ${c.numHistoryShards}`);
  const store = (database: string, maxConns: number) =>
    [
      `      sql:`,
      `        pluginName: "postgres12"`,
      `        databaseName: ${q(database)}`,
      `        connectAddr: ${q(`127.0.0.1:${c.ports.postgres}`)}`,
      `        connectProtocol: "tcp"`,
      `        user: ${q(PG_USER)}`,
      `        password: ${q(PG_PASSWORD)}`,
      `        maxConns: ${maxConns}`,
      `        maxIdleConns: ${maxConns}`,
      `        maxConnLifetime: "1h"`,
    ].join('\n');
  const service = (name: ClusterService) => {
    const p = c.ports[name];
    return [
      `  ${name}:`,
      `    rpc:`,
      `      grpcPort: ${p.grpc}`,
      `      membershipPort: ${p.membership}`,
      `      bindOnIP: "127.0.0.1"`,
      ...('http' in p ? [`      httpPort: ${p.http}`] : []),
    ].join('\n');
  };
  return `# Generated by dev/stack/temporal-cluster.ts: do not edit, it is rewritten on every cluster start.
log:
  stdout: true
  level: ${q(c.logLevel ?? 'warn')}

persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: ${c.numHistoryShards}
  datastores:
    postgres-default:
${store(STORES[0].database, 20)}
    postgres-visibility:
${store(STORES[1].database, 10)}

global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"

services:
${CLUSTER_SERVICES.map(service).join('\n')}

clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: ${q(`127.0.0.1:${c.ports.frontend.grpc}`)}

dcRedirectionPolicy:
  policy: "noop"

dynamicConfigClient:
  filepath: ${q(c.dynamicConfigFile)}
  pollInterval: "10s"
`;
}

/**
 * Dynamic config: a search attribute added through the operator API is readable at once (the dev server does the
 * same), so a controller that registers its attributes and then starts workflows with them is not refused.
 */
export const DYNAMIC_CONFIG_YAML = `system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
    constraints: {}
`;

/**
 * The Web UI's config (pure): ui-server reads `<root>/<config dir>/<env>.yaml`; the chart's `web` values give the same
 * fields (the frontend's address, the port, the UI enabled, the default namespace).
 */
export function uiConfigYaml(ports: ClusterPorts, namespace = 'default'): string {
  return `# Generated by dev/stack/temporal-cluster.ts: do not edit, it is rewritten on every cluster start.
temporalGrpcAddress: ${q(`127.0.0.1:${ports.frontend.grpc}`)}
host: "127.0.0.1"
port: ${ports.ui}
enableUi: true
defaultNamespace: ${q(namespace)}
disableNewsFetch: true
publicPath: ""
`;
}

/** The chart's schema Job, step by step (pure): one create-database, setup-schema -v 0.0, update-schema per store. */
export function schemaSteps(schemaDir: string, pgPort: number): { env: Record<string, string>; args: string[] }[] {
  return STORES.flatMap((s) => {
    const env = { SQL_PLUGIN: 'postgres12', SQL_HOST: '127.0.0.1', SQL_PORT: String(pgPort), SQL_DATABASE: s.database, SQL_USER: PG_USER, SQL_PASSWORD: PG_PASSWORD };
    return [
      { env, args: ['create-database'] },
      { env, args: ['setup-schema', '-v', '0.0'] },
      { env, args: ['update-schema', '--schema-dir', path.join(schemaDir, 'postgresql', 'v12', s.schema, 'versioned')] },
    ];
  });
}

/** Where a cluster keeps its config, data and logs. */
export interface ClusterLayout {
  dir: string;
  ports: ClusterPorts;
}
const paths = (dir: string) => ({
  config: path.join(dir, 'temporal-cluster', 'temporal.yaml'),
  dynamic: path.join(dir, 'temporal-cluster', 'dynamicconfig.yaml'),
  uiRoot: path.join(dir, 'temporal-cluster'),
  uiConfig: path.join(dir, 'temporal-cluster', 'ui', 'local.yaml'),
  pgData: path.join(dir, 'postgres', 'data'),
  pgSocket: path.join(dir, 'postgres', 'socket'),
  log: (n: string) => path.join(dir, 'logs', `${n}.log`),
});

function tool(name: string): string {
  const p = path.join(TOOLS_BIN, name);
  if (!fs.existsSync(p)) throw new Error(`${name} is not installed in ${TOOLS_BIN}: run \`MULTI_ENI_TEMPORAL=cluster bash dev/stack/install.sh\``);
  return fs.realpathSync(p);
}

/** PostgreSQL refuses to run as root: as root, its commands run as the `postgres` system user (setpriv execs, so the PID is postgres's own). */
function asPgUser(cmd: string, args: string[]): { cmd: string; args: string[] } {
  if (process.getuid?.() !== 0) return { cmd, args };
  return { cmd: 'setpriv', args: ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', cmd, ...args] };
}

function chownToPg(p: string): void {
  if (process.getuid?.() !== 0) return;
  const { uid, gid } = pgIds();
  fs.chownSync(p, uid, gid);
}
function pgIds(): { uid: number; gid: number } {
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root, but there is no `postgres` system user to run PostgreSQL as (apt-get install postgresql creates it)');
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

export interface ClusterLaunch {
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  label: string;
  ready: () => Promise<boolean>;
  timeoutMs: number;
}

async function frontendHealthy(port: number): Promise<boolean> {
  await execFileP(tool('temporal'), ['operator', 'cluster', 'health', '--address', `127.0.0.1:${port}`], { timeout: 5000 });
  return true;
}

/** How one cluster process starts and how its readiness is told: shared by the first start and restarts. */
export function clusterLaunch(name: ClusterComponent, l: ClusterLayout): ClusterLaunch {
  const p = paths(l.dir);
  if (name === 'postgres') {
    const { cmd, args } = asPgUser(tool('pg-postgres'), ['-D', p.pgData, '-k', p.pgSocket, '-h', '127.0.0.1', '-p', String(l.ports.postgres), '-c', 'fsync=off', '-c', 'max_connections=200']);
    return {
      cmd,
      args,
      label: 'postgres',
      // pg_isready: accepting connections (a TCP connect alone also succeeds while it is still starting up).
      ready: async () => {
        await execFileP(tool('pg-pg_isready'), ['-h', '127.0.0.1', '-p', String(l.ports.postgres), '-U', PG_USER, '-d', 'postgres'], { timeout: 5000 });
        return true;
      },
      timeoutMs: 60000,
    };
  }
  if (name === 'temporal-ui') {
    return {
      cmd: tool('temporal-ui-server'),
      args: ['--root', p.uiRoot, '--config', 'ui', '--env', 'local', 'start'],
      label: name,
      ready: () => httpOk(`http://127.0.0.1:${l.ports.ui}/`),
      timeoutMs: 60000,
    };
  }
  const service = name.slice('temporal-'.length) as ClusterService;
  return {
    cmd: tool('temporal-server'),
    args: ['--config-file', p.config, '--allow-no-auth', 'start', '--service', service],
    label: name,
    ready:
      service === 'frontend'
        ? () => frontendHealthy(l.ports.frontend.grpc)
        : async () => {
            // The service listens on its gRPC port once it has joined the ring.
            const net = await import('node:net');
            return new Promise<boolean>((resolve) => {
              const s = net.connect(l.ports[service].grpc, '127.0.0.1', () => {
                s.end();
                resolve(true);
              });
              s.once('error', () => resolve(false));
            });
          },
    timeoutMs: 120000,
  };
}

export function startClusterComponent(name: ClusterComponent, l: ClusterLayout): { p: Started; wait: () => Promise<void> } {
  if (name === 'postgres') removeStaleLock(paths(l.dir).pgData);
  const c = clusterLaunch(name, l);
  const p = startDetached(name, c.cmd, c.args, paths(l.dir).log(name), c.env ?? process.env);
  return { p, wait: () => waitReady(p, c.ready, c.timeoutMs) };
}

/**
 * After a kill -9 PostgreSQL's postmaster.pid stays behind; PostgreSQL removes it itself unless its PID still exists,
 * which a zombie's does (a parent that never reaps, e.g. an init that does not): a lock whose PID is not alive
 * (isAlive: gone or a zombie) is stale and removed. A live postmaster's lock is left, and the start fails as it should.
 */
function removeStaleLock(pgData: string): void {
  const lock = path.join(pgData, 'postmaster.pid');
  let pid: number;
  try {
    pid = Number(fs.readFileSync(lock, 'utf8').split('\n')[0]);
  } catch {
    return;
  }
  if (Number.isInteger(pid) && pid > 0 && !isAlive(pid)) fs.rmSync(lock, { force: true });
}

/** Stops one cluster process by PID: PostgreSQL with SIGINT (its "fast" shutdown: SIGTERM waits for every client to leave). */
export async function stopClusterComponent(name: string, pid: number): Promise<void> {
  if (name === 'postgres' && isAlive(pid)) {
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      return;
    }
    const deadline = Date.now() + 20000;
    while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  }
  await stopPid(pid, 10000);
}

export interface StartClusterOptions {
  numHistoryShards?: number;
  progress?: (line: string) => void;
}

/**
 * A fresh cluster in `l.dir` (which must hold a `logs` dir): initdb, PostgreSQL, the schema Job, the four services,
 * the `default` namespace, then the Web UI. Returns what it started, by component name; on failure it stops what it started.
 */
export async function startTemporalCluster(l: ClusterLayout, opts: StartClusterOptions = {}): Promise<Started[]> {
  const say = opts.progress ?? (() => undefined);
  const p = paths(l.dir);
  const shards = opts.numHistoryShards ?? Number(process.env.MULTI_ENI_TEMPORAL_SHARDS ?? 4);
  fs.mkdirSync(path.dirname(p.config), { recursive: true });
  fs.mkdirSync(path.join(l.dir, 'logs'), { recursive: true });
  fs.writeFileSync(p.dynamic, DYNAMIC_CONFIG_YAML);
  fs.writeFileSync(p.config, clusterConfigYaml({ ports: l.ports, numHistoryShards: shards, dynamicConfigFile: p.dynamic }));
  fs.mkdirSync(path.dirname(p.uiConfig), { recursive: true });
  fs.writeFileSync(p.uiConfig, uiConfigYaml(l.ports));
  const started: Started[] = [];
  const timed = async (what: string, fn: () => Promise<void>) => {
    const t = Date.now();
    await fn();
    say(`${what}: ${((Date.now() - t) / 1000).toFixed(1)}s`);
  };
  try {
    await timed('postgres initdb', async () => {
      fs.mkdirSync(path.dirname(p.pgData), { recursive: true });
      for (const d of [path.dirname(p.pgData), p.pgSocket]) {
        fs.mkdirSync(d, { recursive: true });
        chownToPg(d);
      }
      const i = asPgUser(tool('pg-initdb'), ['-D', p.pgData, '-U', PG_USER, '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
      await execFileP(i.cmd, i.args, { timeout: 120000 });
    });
    const pg = startClusterComponent('postgres', l);
    started.push(pg.p);
    await timed('postgres', pg.wait);
    await timed('schema (create-database, setup-schema -v 0.0, update-schema; temporal + temporal_visibility)', async () => {
      const schemaDir = path.join(path.dirname(tool('temporal-server')), 'schema');
      for (const s of schemaSteps(schemaDir, l.ports.postgres)) {
        await execFileP(tool('temporal-sql-tool'), s.args, { env: { ...process.env, ...s.env }, timeout: 120000 });
      }
    });
    // History first: every service writes the cluster metadata record when it starts on a fresh database, and two
    // doing so at once can lose the race and exit ("failed to initialize current cluster metadata"; seen once in
    // about 30 starts here, where Kubernetes would restart the pod). Then the other three together; each joins the
    // ring through the others' membership ports.
    const history = startClusterComponent('temporal-history', l);
    started.push(history.p);
    await timed('temporal history', history.wait);
    const services = CLUSTER_SERVICES.filter((s) => s !== 'history').map((s) => startClusterComponent(`temporal-${s}`, l));
    started.push(...services.map((s) => s.p));
    await timed('temporal services (frontend, matching, worker)', async () => {
      await Promise.all(services.map((s) => s.wait()));
    });
    await timed('namespace default', () => ensureNamespace(l.ports.frontend.grpc, 'default'));
    const ui = startClusterComponent('temporal-ui', l);
    started.push(ui.p);
    await timed('temporal web ui', ui.wait);
    return started;
  } catch (err) {
    for (const s of [...started].reverse()) await stopClusterComponent(s.name, s.pid);
    throw err;
  }
}

/** The chart's namespace Job: `temporal operator namespace describe -n X || temporal operator namespace create -n X`. */
export async function ensureNamespace(frontendPort: number, namespace: string): Promise<void> {
  const address = `127.0.0.1:${frontendPort}`;
  try {
    await execFileP(tool('temporal'), ['operator', 'namespace', 'describe', '-n', namespace, '--address', address], { timeout: 10000 });
    return;
  } catch {
    // not there yet
  }
  // The frontend may answer health before the namespace registry is ready: retried until created or 60 s pass.
  const deadline = Date.now() + 60000;
  for (;;) {
    try {
      await execFileP(tool('temporal'), ['operator', 'namespace', 'create', '-n', namespace, '--retention', '72h', '--address', address], { timeout: 10000 });
      break;
    } catch (e) {
      if (String((e as { stderr?: string }).stderr ?? e).includes('already')) break;
      if (Date.now() > deadline) throw e;
      await sleep(500);
    }
  }
  // A new namespace reaches every frontend's cache within its refresh interval: wait until describe sees it.
  const d2 = Date.now() + 60000;
  for (;;) {
    try {
      await execFileP(tool('temporal'), ['operator', 'namespace', 'describe', '-n', namespace, '--address', address], { timeout: 10000 });
      return;
    } catch (e) {
      if (Date.now() > d2) throw e;
      await sleep(500);
    }
  }
}

/** Stops every process of a cluster, services before PostgreSQL. */
export async function stopTemporalCluster(pids: Record<string, number>): Promise<void> {
  for (const name of [...CLUSTER_COMPONENTS].reverse()) {
    const pid = pids[name];
    if (pid !== undefined) await stopClusterComponent(name, pid);
  }
}

/** What PostgreSQL has written so far for Temporal's two stores: rows (pg_stat_database) and WAL bytes. */
export interface PgWrites {
  /** Rows inserted, updated and deleted in the default and visibility databases. */
  rows: number;
  /** WAL bytes generated since initdb: every change of every database, the bytes that reach the disk and a replica. */
  walBytes: number;
}

/**
 * Reads PgWrites with psql. Row counts are the statistics system's: a backend reports its counts at the end of a
 * transaction at most once a second, so a reading lags the last second or so of writes; WAL position is exact.
 */
export async function pgWrites(postgresPort: number): Promise<PgWrites> {
  const dbs = STORES.map((s) => `'${s.database}'`).join(',');
  const rowsSql = `select coalesce(sum(tup_inserted + tup_updated + tup_deleted), 0) from pg_stat_database where datname in (${dbs})`;
  const walSql = `select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')`;
  const args = ['-h', '127.0.0.1', '-p', String(postgresPort), '-U', PG_USER, '-d', 'postgres', '-At', '-c', rowsSql, '-c', walSql];
  const { stdout } = await execFileP(tool('pg-psql'), args, {
    timeout: 10000,
    env: { ...process.env, PGPASSWORD: PG_PASSWORD },
  });
  const [rows, wal] = stdout.trim().split('\n').map(Number);
  if (!Number.isFinite(rows) || !Number.isFinite(wal)) throw new Error(`psql: unexpected output: ${stdout}`);
  return { rows: rows!, walBytes: wal! };
}
