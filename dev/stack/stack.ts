// The local stack: real Temporal (dev server, SQLite, Web UI), real kube-apiserver + etcd (RBAC on),
// moto as the EC2 endpoint with the fault proxy in front of it. Shared by the tests, the demo and the benchmarks.
import fs from 'node:fs';
import path from 'node:path';
import { Agent } from 'node:https';
import { ensurePki, kubeconfigYaml, pkiPaths, type Pki } from './certs.js';
import { execFileP, httpOk, httpsOk, isAlive, portFree, sleep, startDetached, stopPid, waitReady, type Started } from './processes.js';
import { REPO_ROOT, STACK_DIR, STATE_FILE, TOOLS_BIN, motoServerCommand, stackPorts, type StackPorts } from './paths.js';
import { seedEc2, type Seed } from './seed.js';
import { SEARCH_ATTRIBUTES } from '../../common/names.js';
import { CLUSTER_COMPONENTS, clusterPortList, clusterPorts, startClusterComponent, startTemporalCluster, stopClusterComponent, temporalMode, type ClusterComponent, type TemporalMode } from './temporal-cluster.js';

export interface StackState {
  dir: string;
  bin: string;
  ports: StackPorts;
  pids: Record<string, number>;
  logs: Record<string, string>;
  /** mode: the dev server (SQLite, its Web UI) or the cluster (PostgreSQL, the four services, ui-server): the UI on the same port either way. */
  temporal: { address: string; namespace: string; uiUrl: string; mode: TemporalMode };
  kube: { server: string; kubeconfig: string; pki: Pki };
  ec2: { region: string; motoEndpoint: string; endpoint: string; proxyControl: string };
  seed: Seed;
  startedAt: string;
}

/** The chart's CRDs (NodeENI, NodeENIAttachment), applied as `helm install` applies them. */
export const CRD_DIR = path.join(REPO_ROOT, 'helm', 'multi-eni-controller', 'crds');

type Progress = (line: string) => void;

function tool(name: string): string {
  const p = path.join(TOOLS_BIN, name);
  if (!fs.existsSync(p)) throw new Error(`${name} is not installed in ${TOOLS_BIN}: run \`npm run tools\` (dev/stack/install.sh)`);
  return p;
}

export function readState(): StackState | undefined {
  try {
    return JSON.parse(fs.readFileSync(STATE_FILE, 'utf8')) as StackState;
  } catch {
    return undefined;
  }
}

/** True when every process of a recorded stack is alive and answers. */
export async function stackHealthy(s: StackState): Promise<boolean> {
  if (!Object.values(s.pids).every(isAlive)) return false;
  try {
    return (await httpOk(`${s.ec2.proxyControl}/health`)) && (await httpOk(`${s.ec2.motoEndpoint}/moto-api/`)) && (await apiserverReady(s.kube.server, s.kube.pki));
  } catch {
    return false;
  }
}

async function apiserverReady(server: string, pki: Pki): Promise<boolean> {
  const agent = new Agent({ ca: fs.readFileSync(pki.caCert), cert: fs.readFileSync(pki.adminCert), key: fs.readFileSync(pki.adminKey) });
  return httpsOk(`${server}/readyz`, { agent });
}

/** The stack's processes, by the names state.json records them under. */
export type Component = 'etcd' | 'temporal' | 'moto' | 'ec2-proxy' | 'kube-apiserver' | ClusterComponent;

const isClusterComponent = (n: string): n is ClusterComponent => (CLUSTER_COMPONENTS as readonly string[]).includes(n);
/** The cluster's port base, from the stack's (stackPorts puts the dev server's gRPC port at base + 33). */
export const clusterLayout = (dir: string, ports: StackPorts) => ({ dir, ports: clusterPorts(ports.temporal - 33) });

interface Launch {
  cmd: string;
  args: string[];
  /** For progress lines. */
  label: string;
  ready: () => Promise<boolean>;
  timeoutMs: number;
}

/**
 * How a component is started and how its readiness is told: the one place for its command line, shared by
 * startStack and restartComponent (a restart runs on the same data dirs, ports and certificates).
 */
function launchOf(name: Exclude<Component, ClusterComponent>, dir: string, ports: StackPorts): Launch {
  switch (name) {
    case 'etcd':
      return {
        cmd: tool('etcd'),
        args: [
          '--name=local',
          `--data-dir=${path.join(dir, 'etcd')}`,
          `--listen-client-urls=http://127.0.0.1:${ports.etcdClient}`,
          `--advertise-client-urls=http://127.0.0.1:${ports.etcdClient}`,
          `--listen-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
          `--initial-cluster=local=http://127.0.0.1:${ports.etcdPeer}`,
          '--log-level=warn',
        ],
        label: 'etcd',
        ready: () => httpOk(`http://127.0.0.1:${ports.etcdClient}/health`),
        timeoutMs: 30000,
      };
    case 'temporal':
      return {
        cmd: tool('temporal'),
        args: [
          'server',
          'start-dev',
          '--ip',
          '127.0.0.1',
          '--port',
          String(ports.temporal),
          '--ui-port',
          String(ports.temporalUi),
          '--db-filename',
          path.join(dir, 'temporal', 'temporal.db'),
          '--log-level',
          'warn',
          ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([k, v]) => ['--search-attribute', `${k}=${v}`]),
        ],
        label: 'temporal',
        ready: async () => {
          await execFileP(tool('temporal'), ['operator', 'cluster', 'health', '--address', `127.0.0.1:${ports.temporal}`], { timeout: 5000 });
          return httpOk(`http://127.0.0.1:${ports.temporalUi}/`);
        },
        timeoutMs: 60000,
      };
    case 'moto': {
      const { cmd, args } = motoServerCommand(ports.moto);
      return { cmd, args, label: 'moto (EC2)', ready: () => httpOk(`http://127.0.0.1:${ports.moto}/moto-api/`), timeoutMs: 60000 };
    }
    case 'ec2-proxy':
      return {
        cmd: process.execPath,
        args: [path.join(REPO_ROOT, 'dist', 'dev', 'stack', 'ec2-proxy-main.js'), '--port', String(ports.ec2Proxy), '--target', `http://127.0.0.1:${ports.moto}`],
        label: 'ec2 fault proxy',
        ready: () => httpOk(`http://127.0.0.1:${ports.ec2Proxy}/_proxy/health`),
        timeoutMs: 20000,
      };
    case 'kube-apiserver': {
      const pki = pkiPaths(path.join(dir, 'pki'));
      return {
        cmd: tool('kube-apiserver'),
        args: [
          `--etcd-servers=http://127.0.0.1:${ports.etcdClient}`,
          '--bind-address=127.0.0.1',
          '--advertise-address=127.0.0.1',
          `--secure-port=${ports.apiserver}`,
          `--cert-dir=${pki.dir}`,
          `--tls-cert-file=${pki.servingCert}`,
          `--tls-private-key-file=${pki.servingKey}`,
          `--client-ca-file=${pki.caCert}`,
          '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
          `--service-account-key-file=${pki.saPub}`,
          `--service-account-signing-key-file=${pki.saKey}`,
          '--service-cluster-ip-range=10.96.0.0/16',
          '--authorization-mode=RBAC',
          '--allow-privileged=true',
          '--v=0',
        ],
        label: 'kube-apiserver',
        ready: () => apiserverReady(`https://127.0.0.1:${ports.apiserver}`, pki),
        timeoutMs: 90000,
      };
    }
  }
}

/** Written whole (a temporary file renamed over it): a reader in another process never sees half of it. */
function writeState(s: StackState): void {
  const tmp = `${STATE_FILE}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(s, null, 2));
  fs.renameSync(tmp, STATE_FILE);
}

function runningState(): StackState {
  const s = readState();
  if (!s) throw new Error(`no stack state in ${STATE_FILE}: start the stack first`);
  return s;
}

/** kill -9 of one component by the PID state.json records: no shutdown code runs. Resolves once it is gone. */
export async function killComponent(name: Component): Promise<number> {
  const pid = runningState().pids[name];
  if (pid === undefined) throw new Error(`the stack has no ${name}`);
  if (!isAlive(pid)) throw new Error(`${name} (pid ${pid}) is not running`);
  process.kill(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(20);
  return pid;
}

/**
 * Starts a component again, as startStack started it (same command line, data, ports and log), waits until it is
 * ready and records its new PID in state.json. Only a component that is not running (killComponent first).
 * Temporal (SQLite), etcd and the apiserver come back with their data; moto and the proxy keep theirs in memory.
 */
export async function restartComponent(name: Component): Promise<number> {
  const s = runningState();
  const old = s.pids[name];
  if (old !== undefined && isAlive(old)) throw new Error(`${name} (pid ${old}) is still running`);
  if (isClusterComponent(name)) {
    // Same config file, ports and PostgreSQL data dir as the first start.
    const c = startClusterComponent(name, clusterLayout(s.dir, s.ports));
    writeState({ ...s, pids: { ...s.pids, [name]: c.p.pid } });
    await c.wait();
    return c.p.pid;
  }
  const l = launchOf(name, s.dir, s.ports);
  const p = startDetached(name, l.cmd, l.args, s.logs[name] ?? path.join(s.dir, 'logs', `${name}.log`));
  // Recorded before the wait: a start that fails leaves a PID that stopStack can still end.
  writeState({ ...s, pids: { ...s.pids, [name]: p.pid } });
  await waitReady(p, l.ready, l.timeoutMs);
  return p.pid;
}

export interface StartOptions {
  instances?: number;
  progress?: Progress;
  /** The Temporal engine; default MULTI_ENI_TEMPORAL (see temporal-cluster.ts), else the dev server. */
  temporal?: TemporalMode;
}

/** Starts every component, waits for each to be ready, seeds EC2, applies the CRD. */
export async function startStack(opts: StartOptions = {}): Promise<StackState> {
  const say: Progress = opts.progress ?? (() => undefined);
  const ports = stackPorts();
  const existing = readState();
  if (existing && Object.values(existing.pids).some(isAlive)) {
    throw new Error(`a stack is already running (state ${STATE_FILE}); run \`npm run stack:down\` first`);
  }
  const mode = opts.temporal ?? temporalMode();
  for (const [name, port] of Object.entries(ports)) {
    if (!(await portFree(port))) throw new Error(`port ${port} (${name}) is in use on 127.0.0.1; set MULTI_ENI_PORT_BASE to move the stack`);
  }
  if (mode === 'cluster') {
    for (const port of clusterPortList(clusterPorts(ports.temporal - 33))) {
      if (!(await portFree(port))) throw new Error(`port ${port} (temporal cluster) is in use on 127.0.0.1; set MULTI_ENI_PORT_BASE to move the stack`);
    }
  }
  const dir = STACK_DIR;
  fs.rmSync(dir, { recursive: true, force: true });
  for (const d of ['logs', 'etcd', 'temporal', 'pki']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  const log = (n: string) => path.join(dir, 'logs', `${n}.log`);
  const started: Started[] = [];
  let clusterRun: Promise<void> | undefined;
  const t0 = Date.now();
  const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    say(`${what} ...`);
    const r = await fn();
    say(`${what}: ready in ${((Date.now() - t) / 1000).toFixed(1)}s`);
    return r;
  };

  try {
    // Independent processes start together; their readiness is awaited below.
    const launch = (name: Exclude<Component, ClusterComponent>) => {
      const l = launchOf(name, dir, ports);
      const p = startDetached(name, l.cmd, l.args, log(name));
      started.push(p);
      return { p, wait: () => timed(l.label, () => waitReady(p, l.ready, l.timeoutMs)) };
    };
    const etcd = launch('etcd');
    const temporal =
      mode === 'dev'
        ? launch('temporal')
        : (() => {
            // Started now, awaited with the rest below; its processes are recorded as they start.
            const run = timed('temporal cluster (postgres, schema, frontend, history, matching, worker)', () =>
              startTemporalCluster(clusterLayout(dir, ports), { progress: (l) => say(`  ${l}`) }),
            ).then((ps) => {
              started.push(...ps);
            });
            run.catch(() => undefined);
            clusterRun = run;
            return { wait: () => run };
          })();
    const moto = launch('moto');
    const proxy = launch('ec2-proxy');
    const pki = await ensurePki(path.join(dir, 'pki'));

    await etcd.wait();
    const server = `https://127.0.0.1:${ports.apiserver}`;
    const apiserver = launch('kube-apiserver');
    const kubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, kubeconfigYaml(server, pki.caCert, { cert: pki.adminCert, key: pki.adminKey }));

    const motoEndpoint = `http://127.0.0.1:${ports.moto}`;
    await moto.wait();
    await proxy.wait();
    const seed = await timed('seeding EC2 (VPC, subnets, security groups, instances)', () => seedEc2(motoEndpoint, opts.instances ?? 4));
    await temporal.wait();
    await apiserver.wait();
    await timed('CRDs', async () => {
      const env = { ...process.env, KUBECONFIG: kubeconfig };
      await execFileP(tool('kubectl'), ['apply', '--server-side', '-f', CRD_DIR], { env });
      await execFileP(tool('kubectl'), ['wait', '--for=condition=Established', '--timeout=60s', 'crd/nodeenis.networking.k8s.aws', 'crd/nodeeniattachments.networking.k8s.aws'], { env });
    });

    const state: StackState = {
      dir,
      bin: TOOLS_BIN,
      ports,
      pids: Object.fromEntries(started.map((s) => [s.name, s.pid])),
      logs: Object.fromEntries(started.map((s) => [s.name, s.log])),
      temporal: { address: `127.0.0.1:${ports.temporal}`, namespace: 'default', uiUrl: `http://127.0.0.1:${ports.temporalUi}`, mode },
      kube: { server, kubeconfig, pki },
      ec2: {
        region: seed.region,
        motoEndpoint,
        endpoint: `http://127.0.0.1:${ports.ec2Proxy}`,
        proxyControl: `http://127.0.0.1:${ports.ec2Proxy}/_proxy`,
      },
      seed,
      startedAt: new Date().toISOString(),
    };
    writeState(state);
    say(`stack ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    return state;
  } catch (err) {
    await clusterRun?.catch(() => undefined); // a cluster start that fails stops its own processes
    await Promise.all(started.map((s) => (isClusterComponent(s.name) ? stopClusterComponent(s.name, s.pid) : stopPid(s.pid))));
    throw err;
  }
}

/** Stops every process the stack started, by PID, and frees its ports. */
export async function stopStack(progress: Progress = () => undefined): Promise<void> {
  const s = readState();
  if (!s) {
    progress('no stack state: nothing to stop');
    return;
  }
  // Dependents first: the apiserver before etcd, the cluster's UI and services before PostgreSQL; then anything else
  // the state records.
  const order = ['ec2-proxy', 'kube-apiserver', 'temporal', ...[...CLUSTER_COMPONENTS].reverse(), 'moto', 'etcd'];
  for (const name of [...order, ...Object.keys(s.pids).filter((n) => !order.includes(n))]) {
    const pid = s.pids[name];
    if (pid !== undefined) {
      await (isClusterComponent(name) ? stopClusterComponent(name, pid) : stopPid(pid, 10000));
      progress(`${name} (pid ${pid}) stopped`);
    }
  }
  fs.rmSync(STATE_FILE, { force: true });
}

/** The environment a child process (controller, node agent, kubectl) needs to reach the stack. */
export function stackEnv(s: StackState): NodeJS.ProcessEnv {
  return {
    KUBECONFIG: s.kube.kubeconfig,
    TEMPORAL_ADDRESS: s.temporal.address,
    TEMPORAL_NAMESPACE: s.temporal.namespace,
    AWS_REGION: s.ec2.region,
    EC2_ENDPOINT: s.ec2.endpoint,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    PATH: `${s.bin}:${process.env.PATH ?? ''}`,
  };
}
