// The local stack: real Temporal (dev server, SQLite, Web UI), real kube-apiserver + etcd (RBAC on),
// moto as the EC2 endpoint with the fault proxy in front of it. Shared by the tests, the demo and the benchmarks.
import fs from 'node:fs';
import path from 'node:path';
import { Agent } from 'node:https';
import { ensurePki, kubeconfigYaml, type Pki } from './certs.js';
import { execFileP, httpOk, isAlive, portFree, startDetached, stopPid, waitReady, type Started } from './processes.js';
import { REPO_ROOT, STACK_DIR, STATE_FILE, TOOLS_BIN, motoServerCommand, stackPorts, type StackPorts } from './paths.js';
import { seedEc2, type Seed } from './seed.js';
import { SEARCH_ATTRIBUTES } from '../../common/names.js';

export interface StackState {
  dir: string;
  bin: string;
  ports: StackPorts;
  pids: Record<string, number>;
  logs: Record<string, string>;
  temporal: { address: string; namespace: string; uiUrl: string };
  kube: { server: string; kubeconfig: string; pki: Pki };
  ec2: { region: string; motoEndpoint: string; endpoint: string; proxyControl: string };
  seed: Seed;
  startedAt: string;
}

export const CRD_FILE = path.join(REPO_ROOT, 'helm', 'multi-eni-controller', 'crds', 'nodeenis.networking.k8s.aws.yaml');

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
  const { request } = await import('node:https');
  return new Promise((resolve) => {
    const req = request(`${server}/readyz`, { agent, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

export interface StartOptions {
  instances?: number;
  progress?: Progress;
}

/** Starts every component, waits for each to be ready, seeds EC2, applies the CRD. */
export async function startStack(opts: StartOptions = {}): Promise<StackState> {
  const say: Progress = opts.progress ?? (() => undefined);
  const ports = stackPorts();
  const existing = readState();
  if (existing && Object.values(existing.pids).some(isAlive)) {
    throw new Error(`a stack is already running (state ${STATE_FILE}); run \`npm run stack:down\` first`);
  }
  for (const [name, port] of Object.entries(ports)) {
    if (!(await portFree(port))) throw new Error(`port ${port} (${name}) is in use on 127.0.0.1; set MULTI_ENI_PORT_BASE to move the stack`);
  }
  const dir = STACK_DIR;
  fs.rmSync(dir, { recursive: true, force: true });
  for (const d of ['logs', 'etcd', 'temporal', 'pki']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  const log = (n: string) => path.join(dir, 'logs', `${n}.log`);
  const started: Started[] = [];
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
    const etcd = startDetached(
      'etcd',
      tool('etcd'),
      [
        '--name=local',
        `--data-dir=${path.join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${ports.etcdClient}`,
        `--advertise-client-urls=http://127.0.0.1:${ports.etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
        `--initial-cluster=local=http://127.0.0.1:${ports.etcdPeer}`,
        '--log-level=warn',
      ],
      log('etcd'),
    );
    started.push(etcd);
    const searchAttrs = Object.entries(SEARCH_ATTRIBUTES).flatMap(([k, v]) => ['--search-attribute', `${k}=${v}`]);
    const temporal = startDetached(
      'temporal',
      tool('temporal'),
      [
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
        ...searchAttrs,
      ],
      log('temporal'),
    );
    started.push(temporal);
    const motoCmd = motoServerCommand(ports.moto);
    const moto = startDetached('moto', motoCmd.cmd, motoCmd.args, log('moto'));
    started.push(moto);
    const motoEndpoint = `http://127.0.0.1:${ports.moto}`;
    const proxy = startDetached(
      'ec2-proxy',
      process.execPath,
      [path.join(REPO_ROOT, 'dist', 'dev', 'stack', 'ec2-proxy-main.js'), '--port', String(ports.ec2Proxy), '--target', motoEndpoint],
      log('ec2-proxy'),
    );
    started.push(proxy);
    const pki = await ensurePki(path.join(dir, 'pki'));

    await timed('etcd', () => waitReady(etcd, () => httpOk(`http://127.0.0.1:${ports.etcdClient}/health`), 30000));
    const server = `https://127.0.0.1:${ports.apiserver}`;
    const apiserver = startDetached(
      'kube-apiserver',
      tool('kube-apiserver'),
      [
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
      log('kube-apiserver'),
    );
    started.push(apiserver);
    const kubeconfig = path.join(dir, 'kubeconfig');
    fs.writeFileSync(kubeconfig, kubeconfigYaml(server, pki.caCert, { cert: pki.adminCert, key: pki.adminKey }));

    await timed('moto (EC2)', () => waitReady(moto, () => httpOk(`${motoEndpoint}/moto-api/`), 60000));
    await timed('ec2 fault proxy', () => waitReady(proxy, () => httpOk(`http://127.0.0.1:${ports.ec2Proxy}/_proxy/health`), 20000));
    const seed = await timed('seeding EC2 (VPC, subnets, security groups, instances)', () => seedEc2(motoEndpoint, opts.instances ?? 4));
    await timed('temporal', () =>
      waitReady(
        temporal,
        async () => {
          await execFileP(tool('temporal'), ['operator', 'cluster', 'health', '--address', `127.0.0.1:${ports.temporal}`], { timeout: 5000 });
          return httpOk(`http://127.0.0.1:${ports.temporalUi}/`);
        },
        60000,
      ),
    );
    await timed('kube-apiserver', () => waitReady(apiserver, () => apiserverReady(server, pki), 90000));
    await timed('NodeENI CRD', async () => {
      const env = { ...process.env, KUBECONFIG: kubeconfig };
      await execFileP(tool('kubectl'), ['apply', '--server-side', '-f', CRD_FILE], { env });
      await execFileP(tool('kubectl'), ['wait', '--for=condition=Established', '--timeout=60s', 'crd/nodeenis.networking.k8s.aws'], { env });
    });

    const state: StackState = {
      dir,
      bin: TOOLS_BIN,
      ports,
      pids: Object.fromEntries(started.map((s) => [s.name, s.pid])),
      logs: Object.fromEntries(started.map((s) => [s.name, s.log])),
      temporal: { address: `127.0.0.1:${ports.temporal}`, namespace: 'default', uiUrl: `http://127.0.0.1:${ports.temporalUi}` },
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
    fs.writeFileSync(STATE_FILE, JSON.stringify(state, null, 2));
    say(`stack ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    return state;
  } catch (err) {
    await Promise.all(started.map((s) => stopPid(s.pid)));
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
  // Dependents first: the apiserver before etcd.
  const order = ['ec2-proxy', 'kube-apiserver', 'temporal', 'moto', 'etcd'];
  for (const name of order) {
    const pid = s.pids[name];
    if (pid !== undefined) {
      await stopPid(pid, 10000);
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
