// The image, built here (dev/image/build.sh: buildah and runc, a base the project makes itself) and run: both
// entry points start from it with podman and runc, as the chart runs them, against the local stack. Their
// settings are read from `helm template` of the checkout's chart, not restated: each container's args, env,
// security context (user, read-only root, capabilities, no privilege escalation) and volumes become podman flags.
//
// What stands in for the cluster:
//   - the controller Deployment's pod: `--network host` (the stack is on loopback), the stack's kubeconfig for the
//     service account's token, AWS keys for the emulator for its IAM role, the downward API's fields by hand;
//   - the node agent DaemonSet's pod on a simulated node: hostNetwork is the node's network namespace
//     (`--network ns:/run/netns/<node>`), its host /sys the node's sysfs tree, its host paths the node's dirs. The
//     node reaches Temporal as a real node would, over a link: a veth from the host into the node's namespace, and
//     a relay on the host end to the stack's loopback Temporal; its instance metadata service (IMDSv2, answered
//     from EC2) is served on the same link. The simulated node runs no agent of its own (`agent: false`): only its
//     "hardware" (ENIs hot-plugged as links when EC2 attaches them).
//   - podman's default ulimits are above what root may set in this VM; the containers get this process's limits.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DescribeNetworkInterfacesCommand } from '@aws-sdk/client-ec2';
import { dumpYaml, loadAllYaml, type V1Container, type V1DaemonSet, type V1Deployment, type V1PodSpec } from '@kubernetes/client-node';
import { REPO_ROOT, TOOLS_BIN } from '../dev/stack/paths.js';
import { nodeTaskQueue } from '../common/names.js';
import { TestCluster, type TestNode } from './support/cluster.js';
import { eventually, freePortPair, stack, temporalClient } from './support/env.js';
import { proxy } from './support/proxy.js';

const IMAGE = 'localhost/multi-eni-controller:dev';
/** temporal.api.enums.v1.TaskQueueType */
const QUEUE = { workflow: 1, activity: 2 } as const;
const PODMAN = ['--runtime', 'runc'];

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], timeoutMs = 120_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err && typeof (err as { code?: unknown }).code !== 'number') reject(err);
      else resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout, stderr });
    });
  });
}

async function must(cmd: string, args: string[], timeoutMs?: number): Promise<string> {
  const r = await run(cmd, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

const podman = (args: string[]) => must('podman', [...PODMAN, ...args]);

/** dev/image/build.sh, its progress kept; the tarball path is its last line of stdout. */
function buildImage(): Promise<{ tarball: string; progress: string; seconds: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [path.join(REPO_ROOT, 'dev', 'image', 'build.sh')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`dev/image/build.sh exited ${code}:\n${err.slice(-4000)}`));
      const lines = out.trimEnd().split('\n');
      resolve({ tarball: lines[lines.length - 1] ?? '', progress: err, seconds: (Date.now() - started) / 1000 });
    });
  });
}

/** The hard limit of a resource for this process (podman's default ulimits are above what root may set here). */
function hardLimit(name: string): number {
  const line = fs
    .readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(name));
  const hard = line?.slice(26).trim().split(/\s+/)[1];
  return hard && /^\d+$/.test(hard) ? Number(hard) : 4096;
}

/** A TCP relay from `listenHost` (an address of the host) to a loopback port: the node's way to Temporal. */
async function relay(listenHost: string, toPort: number): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let total = 0;
  const server = net.createServer((down) => {
    total++;
    const up = net.connect(toPort, '127.0.0.1');
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        down.destroy();
        up.destroy();
      });
    }
    down.pipe(up).pipe(down);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, listenHost, () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => total,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/**
 * The node's instance metadata service (IMDSv2: a token first, every GET with it), answered from EC2 (the
 * emulator): the instance ID and, per MAC of an ENI attached to the instance, its ENI ID. Served on the node's
 * link, where the chart's `nodeAgent.imdsEndpoint` points the agent.
 */
async function instanceMetadata(listenHost: string, instanceId: string, ec2: TestCluster['ec2']): Promise<{ url: string; served: string[]; close: () => Promise<void> }> {
  const served: string[] = [];
  const tokens = new Set<string>();
  const server = http.createServer((req, res) => {
    void (async () => {
      if (req.method === 'PUT' && req.url === '/latest/api/token') {
        const t = randomBytes(16).toString('hex');
        tokens.add(t);
        return res.writeHead(200).end(t);
      }
      const token = req.headers['x-aws-ec2-metadata-token'];
      if (req.method !== 'GET' || typeof token !== 'string' || !tokens.has(token)) return res.writeHead(401).end();
      const url = req.url ?? '';
      if (url === '/latest/meta-data/instance-id') return res.writeHead(200).end(instanceId);
      const m = /^\/latest\/meta-data\/network\/interfaces\/macs\/([0-9a-f:]{17})\/interface-id$/.exec(url);
      if (!m) return res.writeHead(404).end();
      const r = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }] }));
      const eni = (r.NetworkInterfaces ?? []).find((n) => n.MacAddress?.toLowerCase() === m[1]);
      if (!eni?.NetworkInterfaceId) return res.writeHead(404).end();
      served.push(`${m[1]} ${eni.NetworkInterfaceId}`);
      res.writeHead(200).end(eni.NetworkInterfaceId);
    })().catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, listenHost, () => resolve());
  });
  return { url: `http://${listenHost}:${(server.address() as net.AddressInfo).port}`, served, close: () => new Promise((r) => server.close(() => r())) };
}

/** Where a pod volume comes from here: an emptyDir is a tmpfs; a hostPath is mapped to a directory of the test's. */
type Volumes = Record<string, string>;

/**
 * podman flags for a chart container: its security context (pod and container), env (literal values; valueFrom
 * given by `fieldRefs`), volumes, and args. What a kubelet would do from the same manifest, in podman's words.
 */
function podmanRunArgs(spec: V1PodSpec, c: V1Container, o: { image: string; name: string; hostname: string; network: string[]; hostPaths: Volumes; fieldRefs: Record<string, string>; extraEnv: Record<string, string> }): string[] {
  const args = ['run', '--detach', '--name', o.name, '--hostname', o.hostname, ...o.network];
  // podman's default ulimits (nofile 1048576, ...) are above what root may set in this VM (no CAP_SYS_RESOURCE).
  args.push('--ulimit', `nofile=${hardLimit('Max open files')}:${hardLimit('Max open files')}`, '--ulimit', 'nproc=4096:4096');
  const psc = spec.securityContext ?? {};
  const sc = c.securityContext ?? {};
  const user = sc.runAsUser ?? psc.runAsUser;
  const group = sc.runAsGroup ?? psc.runAsGroup ?? user;
  if (user !== undefined) args.push('--user', `${user}:${group}`);
  if (psc.fsGroup !== undefined) args.push('--group-add', String(psc.fsGroup));
  if (sc.privileged) args.push('--privileged');
  if (sc.readOnlyRootFilesystem) args.push('--read-only', '--read-only-tmpfs=false'); // only the pod's volumes are writable
  for (const cap of sc.capabilities?.drop ?? []) args.push(`--cap-drop=${cap}`);
  for (const cap of sc.capabilities?.add ?? []) args.push(`--cap-add=${cap}`);
  if (sc.allowPrivilegeEscalation === false) args.push('--security-opt', 'no-new-privileges');
  const seccomp = sc.seccompProfile?.type ?? psc.seccompProfile?.type;
  if (seccomp && seccomp !== 'RuntimeDefault') throw new Error(`seccomp profile ${seccomp} has no podman equivalent here`);
  // RuntimeDefault: podman's default seccomp profile, nothing to add.
  for (const e of c.env ?? []) {
    if (e.value !== undefined) args.push('--env', `${e.name}=${e.value}`);
    else if (e.valueFrom?.fieldRef) {
      const v = o.fieldRefs[e.valueFrom.fieldRef.fieldPath];
      if (v === undefined) throw new Error(`no value for ${e.name} (${e.valueFrom.fieldRef.fieldPath})`);
      args.push('--env', `${e.name}=${v}`);
    } else throw new Error(`env ${e.name}: only literal values and fieldRefs are mapped`);
  }
  for (const [k, v] of Object.entries(o.extraEnv)) args.push('--env', `${k}=${v}`);
  for (const m of c.volumeMounts ?? []) {
    const vol = (spec.volumes ?? []).find((v) => v.name === m.name);
    if (!vol) throw new Error(`volume ${m.name} not in the pod`);
    if (vol.emptyDir) args.push('--tmpfs', `${m.mountPath}:rw,mode=1777`);
    else if (vol.hostPath) {
      const dir = o.hostPaths[vol.hostPath.path];
      if (!dir) throw new Error(`host path ${vol.hostPath.path} (${m.name}) not mapped`);
      fs.mkdirSync(dir, { recursive: true }); // DirectoryOrCreate
      args.push('--volume', `${dir}:${m.mountPath}:${m.readOnly ? 'ro' : 'rw'}`);
    } else throw new Error(`volume ${m.name}: only emptyDir and hostPath are mapped`);
  }
  if (c.image !== IMAGE) throw new Error(`the chart names image ${c.image}, not ${IMAGE}`);
  args.push(o.image, ...(c.args ?? []));
  return args;
}

async function logsOf(id: string): Promise<string> {
  const r = await run('podman', [...PODMAN, 'logs', id]);
  return `${r.stdout}${r.stderr}`;
}

/** Identities of the workers polling a task queue (`<pid>@<hostname>` for the TypeScript SDK). */
async function pollers(taskQueue: string, type: (typeof QUEUE)[keyof typeof QUEUE]): Promise<string[]> {
  const { client, connection } = await temporalClient();
  try {
    const r = await client.workflowService.describeTaskQueue({ namespace: stack().temporal.namespace, taskQueue: { name: taskQueue }, taskQueueType: type });
    return (r.pollers ?? []).map((p) => p.identity ?? '');
  } finally {
    await connection.close();
  }
}

describe('the image, built here and run as the chart runs it', () => {
  const c = new TestCluster();
  const suffix = randomBytes(3).toString('hex');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mneni-image-'));
  const containers: string[] = [];
  let node: TestNode | undefined;
  let tarball: string;
  let imageId: string;
  let temporalRelay: Awaited<ReturnType<typeof relay>>;
  let imds: Awaited<ReturnType<typeof instanceMetadata>>;
  let uplink: { host: string; hostAddr: string; peerAddr: string } | undefined;
  let deployment: V1Deployment;
  let daemonSet: V1DaemonSet;
  let controllerId: string;
  let agentId: string;
  let metricsPort: number;
  const controllerHost = `multi-eni-controller-${suffix}`;

  beforeAll(async () => {
    // Cold, this builds the bases and the image (a few minutes); warm, it finds them cached.
    const built = await buildImage();
    tarball = built.tarball;
    // The image of that tarball, by ID: another checkout's build may move the tag meanwhile.
    const manifest = JSON.parse(await must('tar', ['-xOf', tarball, 'manifest.json'])) as { Config: string; RepoTags?: string[] }[];
    expect(manifest[0]!.RepoTags).toEqual([IMAGE]);
    imageId = manifest[0]!.Config.replace(/\.json$/, '');
    if ((await run('podman', [...PODMAN, 'image', 'exists', imageId])).code !== 0) await podman(['load', '--quiet', '-i', tarball]);
    console.log(`dev/image/build.sh: ${built.seconds.toFixed(1)} s\n${built.progress.split('\n').filter((l) => l.startsWith('[image')).join('\n')}`);

    await proxy.reset();
    [node] = await c.addNodes(1, { ng: c.nodeGroup }, { agent: false });
    const sim = node!.sim!;

    // The node's link to the rest of the network: a veth from the host into its namespace, a /30 of 169.254/16.
    const third = 100 + (parseInt(suffix.slice(0, 2), 16) % 100);
    const fourth = 4 * (parseInt(suffix.slice(2, 4), 16) % 60) + 1;
    uplink = { host: `mnimg${suffix}`, hostAddr: `169.254.${third}.${fourth}`, peerAddr: `169.254.${third}.${fourth + 1}` };
    await must('ip', ['link', 'add', uplink.host, 'type', 'veth', 'peer', 'name', 'uplink0', 'netns', sim.netns.name]);
    await must('ip', ['addr', 'add', `${uplink.hostAddr}/30`, 'dev', uplink.host]);
    await must('ip', ['link', 'set', uplink.host, 'up']);
    await sim.netns.ip(['addr', 'add', `${uplink.peerAddr}/30`, 'dev', 'uplink0']);
    await sim.netns.ip(['link', 'set', 'uplink0', 'up']);
    await sim.netns.ip(['link', 'set', 'lo', 'up']);
    const s = stack();
    temporalRelay = await relay(uplink.hostAddr, Number(s.temporal.address.split(':').pop()));
    imds = await instanceMetadata(uplink.hostAddr, node!.instanceId, c.ec2);

    // The chart, rendered from this checkout with this cluster's values; nothing of it is restated below.
    metricsPort = await freePortPair();
    const rendered = await must(path.join(TOOLS_BIN, 'helm'), [
      'template', 'rel', path.join(REPO_ROOT, 'helm', 'multi-eni-controller'), '--namespace', 'default',
      ...['--set', `image.repository=${IMAGE.split(':')[0]}`, '--set', `image.tag=${IMAGE.split(':')[1]}`],
      ...['--set', `clusterName=${c.clusterName}`, '--set', `aws.region=${s.ec2.region}`, '--set', `aws.ec2Endpoint=${s.ec2.endpoint}`],
      ...['--set', `temporalConnection.address=${uplink.hostAddr}:${temporalRelay.port}`, '--set', `temporalConnection.namespace=${s.temporal.namespace}`],
      ...['--set', 'controller.replicas=1', '--set', `controller.nodeENISelector=test-run=${c.runId}`, '--set', `controller.taskQueue=${c.taskQueue}`],
      ...['--set', `controller.fleetScheduleId=fleet-${c.runId}`, '--set', `controller.metrics.port=${metricsPort}`],
      ...['--set', `controller.leaderElection.leaseName=lease-${c.runId}`, '--set', `nodeAgent.imdsEndpoint=${imds.url}`],
    ]);
    const objects = loadAllYaml(rendered) as { kind?: string }[];
    deployment = objects.find((o) => o.kind === 'Deployment') as V1Deployment;
    daemonSet = objects.find((o) => o.kind === 'DaemonSet') as V1DaemonSet;
    expect(deployment.spec!.template.spec!.containers[0]!.image).toBe(IMAGE);

    // The node agent, as the DaemonSet's pod on this node.
    const dsPod = daemonSet.spec!.template.spec!;
    expect(dsPod.hostNetwork).toBe(true);
    const agentArgs = podmanRunArgs(dsPod, dsPod.containers[0]!, {
      image: imageId,
      name: `mneni-agent-${suffix}`,
      hostname: node!.name,
      network: ['--network', `ns:/run/netns/${sim.netns.name}`],
      hostPaths: { '/sys': sim.sysRoot, '/etc/pcidp': path.dirname(sim.pcidpConfigPath), '/var/lib/multi-eni': path.join(sim.dir, 'state') },
      fieldRefs: { 'spec.nodeName': node!.name },
      extraEnv: {},
    });
    agentId = (await podman(agentArgs)).trim();
    containers.push(agentId);

    // The controller, as the Deployment's pod; the stack's admin kubeconfig stands in for its service account.
    const kubeconfig = path.join(work, 'kubeconfig');
    const pki = (f: string) => fs.readFileSync(f).toString('base64');
    const kc = loadAllYaml(fs.readFileSync(s.kube.kubeconfig, 'utf8'))[0] as {
      clusters: { cluster: Record<string, string> }[];
      users: { user: Record<string, string> }[];
    };
    for (const cl of kc.clusters) cl.cluster = { server: cl.cluster.server!, 'certificate-authority-data': pki(cl.cluster['certificate-authority']!) };
    for (const u of kc.users) u.user = { 'client-certificate-data': pki(u.user['client-certificate']!), 'client-key-data': pki(u.user['client-key']!) };
    fs.writeFileSync(kubeconfig, dumpYaml(kc), { mode: 0o644 });
    const podSpec = deployment.spec!.template.spec!;
    const ctlArgs = podmanRunArgs(podSpec, podSpec.containers[0]!, {
      image: imageId,
      name: `mneni-controller-${suffix}`,
      hostname: controllerHost,
      network: ['--network', 'host'],
      hostPaths: {},
      fieldRefs: { 'metadata.namespace': 'default', 'metadata.name': controllerHost, 'spec.nodeName': node!.name },
      extraEnv: { KUBECONFIG: '/etc/multi-eni/kubeconfig', AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' },
    });
    ctlArgs.splice(ctlArgs.indexOf(imageId), 0, '--volume', `${kubeconfig}:/etc/multi-eni/kubeconfig:ro`);
    controllerId = (await podman(ctlArgs)).trim();
    containers.push(controllerId);

    await eventually(
      'the node agent container polling its node queue',
      async () => {
        const st = (await podman(['inspect', '--format', '{{.State.Status}}', agentId])).trim();
        if (st !== 'running') throw new Error(`agent container ${st}:\n${await logsOf(agentId)}`);
        return /"message":"node agent started"/.test(await logsOf(agentId));
      },
      60_000,
    );
    await eventually(
      'the controller container ready (/readyz)',
      async () => {
        const st = (await podman(['inspect', '--format', '{{.State.Status}}', controllerId])).trim();
        if (st !== 'running') throw new Error(`controller container ${st}:\n${await logsOf(controllerId)}`);
        return (await fetch(`http://127.0.0.1:${metricsPort}/readyz`, { signal: AbortSignal.timeout(2000) })).status === 200;
      },
      90_000,
      500,
    );
  }, 900_000);

  afterAll(async () => {
    await c.delete('jumbo-frames-eni');
    await c.waitGone('jumbo-frames-eni', 60_000).catch(() => undefined);
    for (const id of containers.reverse()) {
      // The logs go to the stack's log dir, for a failure's post-mortem.
      fs.writeFileSync(path.join(stack().dir, 'logs', `image-test-${id.slice(0, 12)}.log`), await logsOf(id).catch((e: Error) => e.message));
      await run('podman', [...PODMAN, 'rm', '--force', '--time', '30', id]);
    }
    await temporalRelay?.close();
    await imds?.close();
    if (uplink) await run('ip', ['link', 'del', uplink.host]);
    await c.teardown();
    fs.rmSync(work, { recursive: true, force: true });
  }, 300_000);

  it('dev/image/build.sh leaves the image in podman storage and a loadable tarball; it runs as the chart says', async () => {
    expect(fs.statSync(tarball).size).toBeGreaterThan(50 * 1024 * 1024);
    expect(tarball).toMatch(/\.tar$/);
    // Tagged in podman's storage (the tarball's image, unless another checkout's build has moved the tag since).
    expect((await run('podman', [...PODMAN, 'image', 'exists', IMAGE])).code).toBe(0);
    const [config] = JSON.parse(await podman(['image', 'inspect', imageId])) as { Config: { User?: string; Entrypoint?: string[]; Cmd?: string[] } }[];
    expect(config!.Config).toMatchObject({ User: '1000:1000', Entrypoint: ['/usr/bin/tini', '--', 'node'], Cmd: ['dist/workers/controller.js'] });

    // Both containers run with the chart's security settings, as podman reports them.
    const inspect = async (id: string) =>
      (JSON.parse(await podman(['inspect', id])) as { Config: { User: string }; HostConfig: { ReadonlyRootfs: boolean; CapAdd: string[] | null; CapDrop: string[] | null; SecurityOpt: string[] | null } }[])[0]!;
    const ctl = await inspect(controllerId);
    expect(ctl.Config.User).toBe('1000:1000');
    expect(ctl.HostConfig.ReadonlyRootfs).toBe(true);
    expect(ctl.HostConfig.CapAdd ?? []).toEqual([]);
    expect(ctl.HostConfig.SecurityOpt).toContain('no-new-privileges');
    const agent = await inspect(agentId);
    expect(agent.Config.User).toBe('0:0');
    expect(agent.HostConfig.ReadonlyRootfs).toBe(true);
    expect(agent.HostConfig.CapAdd).toEqual(['CAP_NET_ADMIN']);
    // The processes themselves: the effective capabilities and user of PID 1's child (node).
    const nodeStatus = (id: string) =>
      podman(['exec', id, 'sh', '-c', 'for p in /proc/[0-9]*; do [ "$(cat $p/comm)" = node ] && grep -E "^(Uid|CapEff)" $p/status; done; true']);
    const ctlStatus = await nodeStatus(controllerId);
    expect(ctlStatus).toMatch(/Uid:\s+1000\s/);
    expect(ctlStatus).toMatch(/CapEff:\s+0000000000000000/);
    const agentStatus = await nodeStatus(agentId);
    expect(agentStatus).toMatch(/Uid:\s+0\s/);
    expect(agentStatus).toMatch(/CapEff:\s+0000000000001000/); // CAP_NET_ADMIN (bit 12) alone
    // A write to the root filesystem is refused.
    const write = await run('podman', [...PODMAN, 'exec', controllerId, 'sh', '-c', 'echo x > /app/probe']);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
  }, 120_000);

  it('a NodeENI goes Ready and back with the containers doing the work', async () => {
    const n = node!;
    const sim = n.sim!;
    // Nothing but the containers works the queues: the node's queue is polled by the agent container alone (its
    // hostname is the node's name), the controller's by the controller container alone.
    const agentPollers = await eventually('a poller on the node queue', async () => {
      const p = await pollers(nodeTaskQueue(n.name), QUEUE.activity);
      return p.length > 0 ? p : false;
    });
    for (const id of agentPollers) expect(id).toMatch(new RegExp(`^\\d+@${n.name}$`));
    const ctlPollers = await eventually('pollers on the controller queue', async () => {
      const p = await pollers(c.taskQueue, QUEUE.workflow);
      return p.length > 0 ? p : false;
    });
    for (const id of ctlPollers) expect(id).toMatch(new RegExp(`^\\d+@${controllerHost}$`));

    await c.apply(c.seed('jumbo-frames.yaml'));
    const ready = await c.waitReady('jumbo-frames-eni', 1, 120_000);
    const a = ready.status!.attachments![0]!;
    expect(a).toMatchObject({ nodeID: n.name, phase: 'Ready', interfaceName: 'eth2', mtu: 9001 });
    const enis = await c.enis();
    expect(enis.map((e) => e.NetworkInterfaceId)).toEqual([a.eniID]);
    expect(enis[0]!.Attachment?.InstanceId).toBe(n.instanceId);
    // The agent container brought the hot-plugged link up with the MTU, in the node's namespace.
    expect((await sim.links()).find((l) => l.ifname === 'eth2')).toMatchObject({ mtu: 9001, address: a.macAddress });
    expect((await sim.links()).find((l) => l.ifname === 'eth2')!.flags).toContain('UP');
    // The agent container's own log lines (JSON) show the activities it ran for this ENI.
    const activitiesFor = async (eni: string) =>
      (await logsOf(agentId))
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { component?: string; node?: string; activityType?: string; eniId?: string })
        .filter((l) => l.component === 'node-agent' && l.node === n.name && l.eniId === eni)
        .map((l) => l.activityType);
    expect(await activitiesFor(a.eniID!)).toContain('configureInterface');
    expect(await activitiesFor(a.eniID!)).not.toContain('releaseInterface');
    const ctlLog = await logsOf(controllerId);
    expect(ctlLog).toMatch(/"component":"controller"/);
    // The agent found the link by MAC and checked it with instance metadata, as on an instance.
    expect(imds.served).toContain(`${a.macAddress!.toLowerCase()} ${a.eniID}`);
    // The node's Temporal traffic went over its link (the relay), not some loopback shortcut.
    expect(temporalRelay.connections()).toBeGreaterThan(0);

    await c.delete('jumbo-frames-eni');
    await c.waitGone('jumbo-frames-eni', 120_000);
    expect(await c.enis()).toHaveLength(0);
    await eventually('eth2 gone from the node', async () => !(await sim.links()).some((l) => l.ifname === 'eth2'));
    expect(await activitiesFor(a.eniID!)).toContain('releaseInterface');
  }, 300_000);
});
