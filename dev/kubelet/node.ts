// A real single-node Kubernetes cluster on the local stack: containerd (Debian's, with runc) in directories of its
// own, kube-scheduler, kube-controller-manager and a kubelet that registers the Node, all against the stack's
// kube-apiserver. Every process is started here and stopped by its PID; nothing uses the host's default
// containerd paths, ports or cgroups (the pods' cgroups live under a cgroup root named after the port base).
//
// Networking: host network only. containerd gets a loopback-only CNI network so that it reports the network ready
// and the Node goes Ready; a pod without hostNetwork does not start (containerd finds no interface in the CNI
// result: "failed to find network info for sandbox"), and there is no kube-proxy. The chart's pods run in the host
// network (controller.hostNetwork) and reach the loopback stack directly.
import fs from 'node:fs';
import path from 'node:path';
import { clientCert, kubeconfigYaml } from '../stack/certs.js';
import { execFileP, httpOk, httpsOk, isAlive, portFree, startDetached, stopPid, waitReady, type Started } from '../stack/processes.js';
import { TOOLS_BIN } from '../stack/paths.js';
import type { StackState } from '../stack/stack.js';
import { writeOciArchive } from './oci.js';

export const PAUSE_IMAGE = 'localhost/multi-eni-pause:dev';
/** containerd's namespace of the CRI: images the kubelet runs must be imported here. */
export const K8S_NAMESPACE = 'k8s.io';

/** Loopback ports of the node, next to the stack's (the same base: MULTI_ENI_PORT_BASE). */
export function nodePorts(base = Number(process.env.MULTI_ENI_PORT_BASE ?? 17200)) {
  return {
    kubelet: base + 60,
    kubeletHealthz: base + 61,
    scheduler: base + 62,
    controllerManager: base + 63,
    /** Free for the controller pod's metrics (and the Temporal SDK's, on port + 1). */
    controllerMetrics: base + 64,
    nodeAgentHealth: base + 66,
  };
}
export type NodePorts = ReturnType<typeof nodePorts>;

export interface KubeletNodeOptions {
  stack: StackState;
  /** The Node's name (the kubelet's --hostname-override). */
  name: string;
  /** `aws:///<az>/<instance-id>`: the EC2 instance the node stands for. */
  providerID: string;
  labels: Record<string, string>;
  /** Default `<stack dir>/kubelet`. Kept short: unix socket paths are limited to 108 bytes. */
  dir?: string;
  ports?: NodePorts;
  progress?: (line: string) => void;
}

export interface KubeletNodeState {
  name: string;
  dir: string;
  ports: NodePorts;
  pids: Record<string, number>;
  logs: Record<string, string>;
  /** containerd's gRPC socket (`ctr -a`). */
  containerdSocket: string;
  /** Under each cgroup v1 hierarchy: the kubelet's --cgroup-root. */
  cgroupRoot: string;
  kubeconfig: string;
  startedAt: string;
}

export const NODE_STATE_FILE = 'node.json';

function tool(name: string): string {
  const p = path.join(TOOLS_BIN, name);
  if (!fs.existsSync(p)) throw new Error(`${name} is not installed in ${TOOLS_BIN}: run dev/kubelet/install.sh`);
  return p;
}

function which(cmd: string, dirs = ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin']): string {
  for (const d of dirs) if (fs.existsSync(path.join(d, cmd))) return path.join(d, cmd);
  throw new Error(`${cmd} not found in ${dirs.join(', ')}: run dev/kubelet/install.sh`);
}

/** The cgroup v1 hierarchies mounted under /sys/fs/cgroup (this VM has no cgroup v2). */
function cgroupHierarchies(): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f.includes('cgroup') && f[f.indexOf('-') + 1] === 'cgroup')
    .map((f) => f[4] ?? '')
    .filter((p) => p.startsWith('/sys/fs/cgroup/'));
}

function containerdConfig(dir: string, socket: string): string {
  const cd = path.join(dir, 'containerd');
  return `version = 2
root = "${cd}/root"
state = "${cd}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "${socket}"
[ttrpc]
  address = "${socket}.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "${cd}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  # No CAP_SYS_RESOURCE here: a negative oom_score_adj (-998 for sandboxes) cannot be written, and runc fails
  # ("can't get final child's PID from pipe: EOF"). Capped at containerd's own score instead.
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "${which('runc')}"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${dir}/cni"
`;
}

/** Loopback only: a CNI network is configured (the node reports its network ready); see the header for what it is not. */
const CNI_CONFLIST = JSON.stringify({ cniVersion: '0.4.0', name: 'multi-eni-loopback-only', plugins: [{ type: 'loopback' }] }, null, 2);

function kubeletConfig(o: { dir: string; socket: string; ports: NodePorts; caCert: string; cgroupRoot: string; providerID: string }): string {
  // JSON is YAML: the KubeletConfiguration file.
  return JSON.stringify(
    {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      // This VM mounts only cgroup v1 hierarchies; kubelet >= 1.35 refuses to start on cgroup v1 unless told.
      failCgroupV1: false,
      cgroupDriver: 'cgroupfs',
      cgroupRoot: o.cgroupRoot,
      containerRuntimeEndpoint: `unix://${o.socket}`,
      address: '127.0.0.1',
      port: o.ports.kubelet,
      readOnlyPort: 0,
      healthzBindAddress: '127.0.0.1',
      healthzPort: o.ports.kubeletHealthz,
      authentication: { anonymous: { enabled: false }, webhook: { enabled: false }, x509: { clientCAFile: o.caCert } },
      authorization: { mode: 'AlwaysAllow' },
      providerID: o.providerID,
      podLogsDir: path.join(o.dir, 'pod-logs'),
      // Imported images only (no registry): never collected, whatever the disk use.
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
      failSwapOn: false,
      resolvConf: '/etc/resolv.conf',
      serializeImagePulls: false,
      nodeStatusReportFrequency: '10s',
      syncFrequency: '10s',
    },
    null,
    2,
  );
}

function stateFile(dir: string): string {
  return path.join(dir, NODE_STATE_FILE);
}

export function readNodeState(dir: string): KubeletNodeState | undefined {
  try {
    return JSON.parse(fs.readFileSync(stateFile(dir), 'utf8')) as KubeletNodeState;
  } catch {
    return undefined;
  }
}

function writeNodeState(s: KubeletNodeState): void {
  const tmp = `${stateFile(s.dir)}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(s, null, 2));
  fs.renameSync(tmp, stateFile(s.dir));
}

export function defaultNodeDir(stack: StackState): string {
  return path.join(stack.dir, 'kubelet');
}

async function kubectl(stack: StackState, args: string[], input?: string): Promise<string> {
  const env = { ...process.env, KUBECONFIG: stack.kube.kubeconfig };
  if (input === undefined) return (await execFileP(tool('kubectl'), args, { env })).stdout;
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const c = spawn(tool('kubectl'), args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`kubectl ${args.join(' ')}: ${err || out}`))));
    c.stdin.end(input);
  });
}

/** `ctr` against the node's containerd, in the CRI's namespace. */
export async function ctr(s: Pick<KubeletNodeState, 'containerdSocket'>, args: string[]): Promise<string> {
  return (await execFileP(which('ctr'), ['-a', s.containerdSocket, '-n', K8S_NAMESPACE, ...args], { maxBuffer: 16 * 1024 * 1024 })).stdout;
}

/** Imports an image archive (OCI or docker archive) into the CRI's namespace; returns the names imported. */
export async function importImage(s: Pick<KubeletNodeState, 'containerdSocket'>, archive: string): Promise<string[]> {
  const out = await ctr(s, ['images', 'import', '--all-platforms', archive]);
  // "unpacking <name> (sha256:...)...done"
  return [...out.matchAll(/unpacking (\S+) \(sha256:/g)].map((m) => m[1] ?? '');
}

/** Client certificate and kubeconfig of a component, signed by the stack's CA. */
async function componentKubeconfig(stack: StackState, dir: string, file: string, subject: string): Promise<string> {
  const pki = stack.kube.pki;
  await clientCert(pki.dir, file, subject);
  const kubeconfig = path.join(dir, `${file}.kubeconfig`);
  fs.writeFileSync(kubeconfig, kubeconfigYaml(stack.kube.server, pki.caCert, { cert: path.join(pki.dir, `${file}.crt`), key: path.join(pki.dir, `${file}.key`) }));
  return kubeconfig;
}

/**
 * Starts containerd, imports the pause image, starts kube-scheduler, kube-controller-manager and the kubelet, and
 * waits until the Node is registered and Ready. On failure everything started is stopped again.
 */
export async function startKubeletNode(opts: KubeletNodeOptions): Promise<KubeletNodeState> {
  const say = opts.progress ?? (() => undefined);
  const stack = opts.stack;
  const dir = opts.dir ?? defaultNodeDir(stack);
  const ports = opts.ports ?? nodePorts();
  const old = readNodeState(dir);
  if (old && Object.values(old.pids).some(isAlive)) throw new Error(`a kubelet node already runs from ${dir} (${old.name}); stop it first`);
  for (const [name, port] of Object.entries(ports)) {
    if (!(await portFree(port))) throw new Error(`port ${port} (${name}) is in use on 127.0.0.1`);
  }
  if (old) await cleanupNodeDir(dir, old.cgroupRoot);
  fs.rmSync(dir, { recursive: true, force: true });
  for (const d of ['logs', 'containerd', 'cni', 'kubelet', 'pod-logs', 'certs']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  const log = (n: string) => path.join(dir, 'logs', `${n}.log`);
  const socket = path.join(dir, 'containerd', 'containerd.sock');
  const cgroupRoot = `/multi-eni-kubelet-${ports.kubelet}`;
  const state: KubeletNodeState = {
    name: opts.name,
    dir,
    ports,
    pids: {},
    logs: {},
    containerdSocket: socket,
    cgroupRoot,
    kubeconfig: '',
    startedAt: new Date().toISOString(),
  };
  const started: Started[] = [];
  const launch = (name: string, cmd: string, args: string[]): Started => {
    const p = startDetached(name, cmd, args, log(name));
    started.push(p);
    state.pids[name] = p.pid;
    state.logs[name] = p.log;
    writeNodeState(state); // recorded at once: a failed start leaves PIDs that stopKubeletNode can end
    return p;
  };
  const t0 = Date.now();
  const timed = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    say(`${what} ...`);
    const r = await fn();
    say(`${what}: ${((Date.now() - t) / 1000).toFixed(1)}s`);
    return r;
  };

  try {
    // containerd
    const cfg = path.join(dir, 'containerd', 'config.toml');
    fs.writeFileSync(cfg, containerdConfig(dir, socket));
    fs.writeFileSync(path.join(dir, 'cni', '10-loopback-only.conflist'), CNI_CONFLIST);
    const containerd = launch('containerd', which('containerd'), ['--config', cfg, '--log-level', 'info']);
    await timed('containerd', () =>
      waitReady(containerd, async () => {
        await execFileP(which('ctr'), ['-a', socket, 'version'], { timeout: 3000 });
        return true;
      }, 30000),
    );
    await timed(`sandbox image ${PAUSE_IMAGE}`, async () => {
      const archive = await writeOciArchive({ name: PAUSE_IMAGE, files: { pause: fs.realpathSync(tool('kube-pause')) }, entrypoint: ['/pause'], archive: path.join(dir, 'pause.oci.tar') });
      await importImage(state, archive);
    });

    // Identities: the kubelet as system:node:<name> (bound to the system:node ClusterRole: this apiserver runs RBAC
    // without the Node authorizer), the scheduler and controller-manager as the users their default roles name.
    const pki = stack.kube.pki;
    const certs = path.join(dir, 'certs');
    const kubeletKc = await componentKubeconfig(stack, certs, `kubelet-${opts.name}`, `/O=system:nodes/CN=system:node:${opts.name}`);
    const schedulerKc = await componentKubeconfig(stack, certs, 'kube-scheduler', '/CN=system:kube-scheduler');
    const cmKc = await componentKubeconfig(stack, certs, 'kube-controller-manager', '/CN=system:kube-controller-manager');
    state.kubeconfig = kubeletKc;
    await kubectl(
      stack,
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: `multi-eni-kubelet:${opts.name}` },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:node' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: `system:node:${opts.name}` }],
      }),
    );

    const scheduler = launch('kube-scheduler', tool('kube-scheduler'), [
      `--kubeconfig=${schedulerKc}`,
      `--authentication-kubeconfig=${schedulerKc}`,
      `--authorization-kubeconfig=${schedulerKc}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.scheduler}`,
      '--leader-elect=false',
      '--v=1',
    ]);
    const cm = launch('kube-controller-manager', tool('kube-controller-manager'), [
      `--kubeconfig=${cmKc}`,
      `--authentication-kubeconfig=${cmKc}`,
      `--authorization-kubeconfig=${cmKc}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.controllerManager}`,
      '--leader-elect=false',
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${pki.saKey}`,
      // Published as the kube-root-ca.crt ConfigMap in every namespace: the pods' service account volume needs it.
      `--root-ca-file=${pki.caCert}`,
      '--v=1',
    ]);

    // The kubelet's cgroup root, in every hierarchy (the kubelet creates kubepods/ under it).
    for (const h of cgroupHierarchies()) fs.mkdirSync(path.join(h, cgroupRoot), { recursive: true });
    const kcfg = path.join(dir, 'kubelet', 'config.yaml');
    fs.writeFileSync(kcfg, kubeletConfig({ dir, socket, ports, caCert: pki.caCert, cgroupRoot, providerID: opts.providerID }));
    const kubelet = launch('kubelet', tool('kubelet'), [
      `--config=${kcfg}`,
      `--kubeconfig=${kubeletKc}`,
      `--root-dir=${path.join(dir, 'kubelet')}`,
      `--cert-dir=${path.join(dir, 'kubelet', 'pki')}`,
      `--hostname-override=${opts.name}`,
      `--node-labels=${Object.entries(opts.labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')}`,
      '--v=1',
    ]);
    await timed('kube-scheduler', () => waitReady(scheduler, () => healthz(ports.scheduler), 60000));
    await timed('kube-controller-manager', () => waitReady(cm, () => healthz(ports.controllerManager), 60000));
    await timed('kubelet', () => waitReady(kubelet, () => httpOk(`http://127.0.0.1:${ports.kubeletHealthz}/healthz`), 60000));
    await timed(`Node ${opts.name} Ready`, () =>
      waitReady(kubelet, async () => {
        const out = await kubectl(stack, ['get', 'node', opts.name, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
        return out.trim() === 'True';
      }, 90000),
    );
    say(`kubelet node ${opts.name} ready in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    return state;
  } catch (err) {
    await stopKubeletNode(state).catch(() => undefined);
    throw err;
  }
}

/** /healthz of a component serving HTTPS with its own self-signed certificate on loopback. */
async function healthz(port: number): Promise<boolean> {
  return httpsOk(`https://127.0.0.1:${port}/healthz`, { rejectUnauthorized: false });
}

/** Mount points at or under `dir`, deepest first (from /proc/self/mountinfo; octal escapes decoded). */
function mountsUnder(dir: string): string[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => unescape(l.split(' ')[4] ?? ''))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Unmounts what the kubelet and containerd left mounted under the node dir, and removes the pods' cgroups. */
async function cleanupNodeDir(dir: string, cgroupRoot: string): Promise<void> {
  for (const m of mountsUnder(dir)) await execFileP('umount', ['-l', m]).catch(() => undefined);
  for (const h of cgroupHierarchies()) {
    const root = path.join(h, cgroupRoot);
    if (!fs.existsSync(root)) continue;
    // Deepest first: a cgroup directory is removed with rmdir once it has no children and no tasks.
    const all: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
      all.push(d);
    };
    walk(root);
    for (const d of all) {
      try {
        fs.rmdirSync(d);
      } catch {
        // still has tasks: a container process outlived its task (reported by the caller's checks)
      }
    }
  }
}

/**
 * Stops the node: the kubelet first (so it restarts nothing), then every container and sandbox containerd runs for
 * it (killed and deleted through containerd's API, which ends their shims), the scheduler, the controller-manager
 * and containerd, each by its PID; then unmounts and removes what they left. The Node object is deleted.
 */
export async function stopKubeletNode(s: KubeletNodeState, opts: { stack?: StackState; progress?: (l: string) => void; keepDir?: boolean } = {}): Promise<void> {
  const say = opts.progress ?? (() => undefined);
  const stop = async (name: string) => {
    const pid = s.pids[name];
    if (pid === undefined) return;
    await stopPid(pid, 15000);
    say(`${name} (pid ${pid}) stopped`);
  };
  await stop('kubelet');
  const containerd = s.pids.containerd;
  if (containerd !== undefined && isAlive(containerd)) {
    const ids = (await ctr(s, ['containers', 'list', '-q']).catch(() => ''))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    for (const id of ids) {
      await ctr(s, ['tasks', 'kill', '-s', 'SIGKILL', id]).catch(() => undefined);
      // `tasks delete` waits for the task to have exited; a killed task exits at once.
      await ctr(s, ['tasks', 'delete', '-f', id]).catch(() => undefined);
      await ctr(s, ['containers', 'delete', id]).catch(() => undefined);
    }
    if (ids.length) say(`${ids.length} containers killed and deleted`);
  }
  await stop('kube-scheduler');
  await stop('kube-controller-manager');
  await stop('containerd');
  // A shim whose task could not be deleted (containerd gone first) is ended by the PID it recorded.
  const tasks = path.join(s.dir, 'containerd', 'state', 'io.containerd.runtime.v2.task', K8S_NAMESPACE);
  if (fs.existsSync(tasks)) {
    for (const id of fs.readdirSync(tasks)) {
      try {
        const pid = Number(fs.readFileSync(path.join(tasks, id, 'shim.pid'), 'utf8').trim());
        if (pid > 0) await stopPid(pid, 5000);
      } catch {
        // no shim.pid: nothing runs for it
      }
    }
  }
  if (opts.stack) {
    await kubectl(opts.stack, ['delete', 'node', s.name, '--ignore-not-found', '--wait=false']).catch(() => undefined);
    await kubectl(opts.stack, ['delete', 'clusterrolebinding', `multi-eni-kubelet:${s.name}`, '--ignore-not-found']).catch(() => undefined);
  }
  await cleanupNodeDir(s.dir, s.cgroupRoot);
  // The components' logs outlive the node, in the stack's logs (where CI collects them).
  if (opts.stack) fs.cpSync(path.join(s.dir, 'logs'), path.join(opts.stack.dir, 'logs', `kubelet-${s.name}`), { recursive: true });
  if (!opts.keepDir) fs.rmSync(s.dir, { recursive: true, force: true });
}
