// `npm run demo` unattended, as CI runs it: no terminal, stdin ignored, `--exit-when-ready`, on the shared
// stack (`--keep-stack`). It must converge, print what a user checks with every NodeENI at full READY, exit 0,
// and leave nothing behind — so that a second run in a row works the same. A SIGTERM while it runs cleans up too.
import { spawn, execFileSync } from 'node:child_process';
import path from 'node:path';
import { DescribeNetworkInterfacesCommand } from '@aws-sdk/client-ec2';
import yaml from 'js-yaml';
import { REPO_ROOT } from '../dev/stack/paths.js';
import type { NetworkAttachmentDefinition } from '../cli/nad.js';
import { isAlive } from '../dev/stack/processes.js';
import { API_GROUP, API_VERSION, NODEENI_PLURAL, TAG_CLUSTER } from '../common/names.js';
import { eventually, kubeClients, motoEc2, stack, temporalClient, uniq } from './support/env.js';

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
}

/** Runs the built demo with no TTY; optionally sends `signal` once the ready line is printed. */
function runDemo(args: string[], opts: { signalWhenReady?: NodeJS.Signals; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'dist', 'dev', 'demo', 'main.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
    let out = '';
    let signalled = false;
    const onData = (b: Buffer) => {
      out += b.toString();
      if (opts.signalWhenReady && !signalled && out.includes('DEMO READY')) {
        signalled = true;
        // Lets the "running; Ctrl-C ..." line come first: the signal then hits a demo at rest.
        setTimeout(() => child.kill(opts.signalWhenReady), 500);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`demo did not finish in time; output:\n${out}`));
    }, opts.timeoutMs ?? 200000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out });
    });
  });
}

/** The lines of the `kubectl get <what> -o wide` table the demo printed. */
function kubectlTable(out: string, what = 'nodeenis'): string[] {
  const lines = out.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`$ kubectl get ${what} -o wide`));
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && l.trim() === '');
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

function netnsList(): string {
  return execFileSync('ip', ['netns', 'list']).toString();
}

describe('npm run demo, unattended on the shared stack', () => {
  const id = uniq('dt');
  // Everything scoped to this run, so e2e tests sharing the stack and this demo never see each other.
  const flags = ['--nodes', '2', '--keep-stack', '--task-queue', `multi-eni-controller-${id}`, '--selector', `demo-run=${id}`, '--node-group', `multi-eni-${id}`, '--name-suffix', id, '--cluster-name', id];
  const names = ['control-plane-eni', 'user-plane-sriov-eni', 'dpdk-user-plane-eni', 'multi-subnet-nodeeni'].map((n) => `${n}-${id}`);

  /** What the run started, from its output: the controller PID and the nodes' namespaces. */
  function started(out: string): { controllerPid: number; netns: string[]; nodes: string[]; telcoNetns: string[] } {
    const pid = /controller: pid (\d+),/.exec(out);
    const netns = [...out.matchAll(/netns (mneni-node-[0-9a-f]+), node agent/g)].map((m) => m[1]!);
    const nodes = [...out.matchAll(/node (demo-[0-9a-f]+-node-\d+): Node labels/g)].map((m) => m[1]!);
    const telcoNetns = [...out.matchAll(/telco node demo-[0-9a-f]+-telco-\d+ joins .*; its netns (mneni-node-[0-9a-f]+)$/gm)].map((m) => m[1]!);
    return { controllerPid: Number(pid?.[1]), netns, nodes, telcoNetns };
  }

  /** Nothing the run made is left: processes, namespaces, NodeENIs, Nodes, ENIs, running workflows, schedule. */
  async function expectNothingLeft(out: string): Promise<void> {
    const s = started(out);
    expect(s.controllerPid).toBeGreaterThan(0);
    expect(isAlive(s.controllerPid)).toBe(false);
    expect(s.netns).toHaveLength(2);
    expect(s.telcoNetns).toHaveLength(2);
    const ns = netnsList();
    for (const n of [...s.netns, ...s.telcoNetns]) expect(ns).not.toContain(n);
    expect(s.nodes).toHaveLength(2);

    const k = kubeClients();
    const list = (await k.custom.listClusterCustomObject({ group: API_GROUP, version: API_VERSION, plural: NODEENI_PLURAL, labelSelector: `demo-run=${id}` })) as { items: unknown[] };
    expect(list.items).toHaveLength(0);
    const nodes = await k.core.listNode({ labelSelector: `demo-run=${id}` });
    expect(nodes.items.map((n) => n.metadata?.name)).toEqual([]);

    const ec2 = motoEc2();
    const enis = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: `tag:${TAG_CLUSTER}`, Values: [id] }] }));
    ec2.destroy();
    expect(enis.NetworkInterfaces ?? []).toHaveLength(0);

    const { client, connection } = await temporalClient();
    try {
      // Visibility follows a workflow's close by a moment: a sweep the demo waited for may still list as running.
      const listRunning = async () => {
        const running: string[] = [];
        for await (const wf of client.workflow.list({ query: `TaskQueue="multi-eni-controller-${id}" AND ExecutionStatus="Running"` })) running.push(wf.workflowId);
        return running;
      };
      const running = await eventually('no running workflow of the demo', async () => {
        const r = await listRunning();
        return r.length === 0 ? r : undefined;
      }, 10000).catch(() => listRunning());
      expect(running).toEqual([]);
      await expect(client.schedule.getHandle(`fleet-multi-eni-controller-${id}`).describe()).rejects.toThrow();
    } finally {
      await connection.close();
    }
  }

  it('--exit-when-ready: converges, prints kubectl/EC2/links/DPDK/SR-IOV/Web UI with every NodeENI at full READY, exits 0, leaves nothing', async () => {
    const r = await runDemo(['--exit-when-ready', ...flags]);
    expect({ code: r.code, tail: r.code === 0 ? '' : r.out.slice(-4000) }).toEqual({ code: 0, tail: '' });

    // Progress lines, then the summary a user reads.
    expect(r.out).toMatch(/reusing the running local stack/);
    expect(r.out).toMatch(new RegExp(`control-plane-eni-${id}\\s+2/2 ready\\s+Ready:2`));
    expect(r.out).toContain('changed for the demo: deviceIndex 2 -> 5 (2 is case 1\'s); its 2 subnets take 5 and 6');

    const table = kubectlTable(r.out);
    expect(table[0]).toMatch(/^NAME\s+READY\s+STATUS\s+NODES\s+NODE\s+ENI-ID\s+SUBNET-ID\s+INTERFACE\s+AGE$/);
    const rows = new Map(table.slice(1).map((l) => [l.split(/\s+/)[0]!, l.split(/\s+/)]));
    expect([...rows.keys()].sort()).toEqual([...names].sort());
    for (const n of names) {
      const want = n.startsWith('multi-subnet') ? '4/4' : '2/2';
      expect({ name: n, ready: rows.get(n)![1], status: rows.get(n)![2], nodes: rows.get(n)![3] }).toEqual({ name: n, ready: want, status: 'AllAttachmentsReady', nodes: '2' });
    }

    // One NodeENIAttachment per (NodeENI, node): 4 NodeENIs on 2 nodes, each Ready with its ENIs and interfaces.
    const pairRows = kubectlTable(r.out, 'nodeeniattachments');
    expect(pairRows[0]).toMatch(/^NAME\s+NODEENI\s+NODE\s+PHASE\s+READY\s+ENIS\s+INTERFACES\s+AGE$/);
    const pairs = pairRows.slice(1).map((l) => l.split(/\s+/));
    expect(pairs.map((p) => p[1]).sort()).toEqual([...names, ...names].sort());
    for (const p of pairs) {
      expect(p[0]).toBe(`${p[1]}.${p[2]}`);
      expect([p[3], p[4]]).toEqual(['Ready', p[1]!.startsWith('multi-subnet') ? '2/2' : '1/1']);
      expect(p[5]).toMatch(/^eni-[0-9a-f]+(,eni-[0-9a-f]+)?$/);
    }

    // EC2: ten ENIs attached, at the indexes the manifests ask for (multi-subnet at 5 and 6).
    const eniRows = r.out.split('== Multi-AZ')[0]!.split('\n').filter((l) => /^eni-[0-9a-f]+\s/.test(l));
    expect(eniRows).toHaveLength(10);
    for (const l of eniRows) expect(l).toMatch(/\sattached\s/);
    const indexes = eniRows.map((l) => Number(l.split(/\s+/)[5])).sort((a, b) => a - b);
    expect(indexes).toEqual([2, 2, 3, 3, 4, 4, 5, 5, 6, 6]);
    expect(r.out).toMatch(new RegExp(`tags on eni-[0-9a-f]+: Name=\\S+  NodeENI=\\S+  Node=demo-\\S+  SubnetID=subnet-\\S+  node.k8s.amazonaws.com/no_manage=true  multi-eni.networking.k8s.aws/cluster=${id}`));

    // The nodes: kernel links with the MTUs, the DPDK device on vfio-pci, the SR-IOV config for both resources.
    expect(r.out.match(/^eth2@\S+\s+\S+\s+[0-9a-f:]{17} <[^>]*\bUP\b[^>]*>\s+mtu 9001$/gm)).toHaveLength(2);
    expect(r.out.match(/^eth6@\S+\s+.*mtu 9001$/gm)).toHaveLength(2);
    expect(r.out.match(/^0000:00:08\.0\s+vfio-pci \(DPDK\)\s+-\s+eni-/gm)).toHaveLength(2);
    expect(r.out.match(/"resourceName":"sriov_kernel","selectors":\[\{"drivers":\["ena"\],"pciAddresses":\["0000:00:07.0"\]\}\]/g)).toHaveLength(2);
    expect(r.out.match(/"resourceName":"intel_sriov_netdevice","selectors":\[\{"drivers":\["vfio-pci"\],"pciAddresses":\["0000:00:08.0"\]\}\]/g)).toHaveLength(2);

    // The Web UI address with a ready query.
    expect(r.out).toContain(`${stack().temporal.uiUrl}/namespaces/default/workflows?query=NodeENI%3D%22control-plane-eni-${id}%22`);
    expect(r.out).toMatch(/DEMO READY: 4 NodeENIs, 10\/10 attachments Ready, 10 ENIs in EC2, 2 nodes; controller pid \d+/);

    // The multi-AZ NodeENI (seed 003 topology) and two telco nodes, one per AZ, joining with the readiness taint.
    expect(r.out).toContain('== Multi-AZ NodeENI and the readiness gate');
    expect(r.out).toContain('a node in us-east-1a gets multus-test-subnet-1 at index 2 and multus-test-subnet-2 at index 3');
    expect(r.out).toContain('a node in us-east-1b gets multus-test-subnet-3 at index 2 and multus-test-subnet-4 at index 3');
    const telco = [...r.out.matchAll(/telco node (demo-[0-9a-f]+-telco-\d+) joins in (us-east-1[ab]) \(i-[0-9a-f]+\) with the startup taint multi-eni.networking.k8s.aws\/not-ready:NoSchedule/g)].map((m) => [m[1]!, m[2]!]);
    expect(telco.map(([, az]) => az)).toEqual(['us-east-1a', 'us-east-1b']);
    const multiAz = `multi-az-nodeeni-${id}`;
    for (const [node] of telco) {
      // The taint is seen present while the node's ENIs are not Ready, and removed with the label once both are.
      const states = r.out.split('\n').filter((l) => l.includes(`  ${node} (`));
      expect(states[0]).toMatch(new RegExp(`${multiAz} [01]/2 Ready \\[[^\\]]*\\]; taint present; label absent$`));
      expect(states[states.length - 1]).toMatch(new RegExp(`${multiAz} 2/2 Ready \\[Ready,Ready\\]; taint removed; label multi-eni.networking.k8s.aws/ready=true$`));
      expect(states.findIndex((l) => l.includes('taint removed'))).toBe(states.length - 1);
    }
    expect(r.out).toMatch(/readiness taint lifted on 2 telco nodes in [\d.]+s, each labelled multi-eni.networking.k8s.aws\/ready=true/);
    const nodeRows = r.out.split('\n').filter((l) => /^demo-[0-9a-f]+-telco-\d+\s+us-east-1[ab]\s/.test(l)).map((l) => l.split(/\s+/));
    expect(nodeRows.map((c) => [c[1], c[2], c[3]])).toEqual([
      ['us-east-1a', 'true', 'node.kubernetes.io/not-ready'],
      ['us-east-1b', 'true', 'node.kubernetes.io/not-ready'],
    ]);
    const telcoEnis = r.out.split('\n').filter((l) => /^eni-[0-9a-f]+\s+demo-[0-9a-f]+-telco-\d+\s/.test(l)).map((l) => l.split(/\s+/));
    expect(telcoEnis.map((c) => [c[2], c[4], c[5], c[6]])).toEqual([
      ['us-east-1a', '(multus-test-subnet-1)', '2', 'attached'],
      ['us-east-1a', '(multus-test-subnet-2)', '3', 'attached'],
      ['us-east-1b', '(multus-test-subnet-3)', '2', 'attached'],
      ['us-east-1b', '(multus-test-subnet-4)', '3', 'attached'],
    ]);

    // A NetworkAttachmentDefinition per attachment of the first telco node, over that ENI's own addresses: two
    // secondaries and one /28 prefix each (the multi-AZ NodeENI asks for them), master the ENI's interface.
    const nadCmd = `$ kubectl nodeeni nad ${multiAz} ${telco[0]![0]} --nad-namespace telco`;
    expect(r.out).toContain(nadCmd);
    const nadText = r.out.split(nadCmd)[1]!.split('\n(pods using one select its node')[0]!;
    const nads = yaml.loadAll(nadText) as NetworkAttachmentDefinition[];
    expect(nads.map((d) => [d.metadata.namespace, d.metadata.annotations['networking.k8s.aws/node']])).toEqual([
      ['telco', telco[0]![0]],
      ['telco', telco[0]![0]],
    ]);
    const configs = nads.map((d) => JSON.parse(d.spec.config) as { type: string; master: string; ipam: { ranges: { rangeStart: string; rangeEnd: string }[][] } });
    expect(configs.map((c) => [c.type, c.master]).sort()).toEqual([
      ['ipvlan', 'eth2'],
      ['ipvlan', 'eth3'],
    ]);
    for (const c of configs) {
      const ranges = c.ipam.ranges[0]!;
      expect(ranges.map((x) => x.rangeStart === x.rangeEnd)).toEqual([true, true, false]);
      expect(Number(ranges[2]!.rangeEnd.split('.')[3]) - Number(ranges[2]!.rangeStart.split('.')[3])).toBe(15);
    }

    // Stopped in order, then nothing left (the multi-AZ NodeENI too).
    expect(r.out).toContain('cleanup: 5 NodeENIs deleted');
    expect(r.out).toContain('cleanup: no ENI of the demo left in EC2');
    expect(r.out).toMatch(/demo stopped: /);
    await expectNothingLeft(r.out);
  }, 240000);

  it('a second run in a row, with the same names, works the same', async () => {
    const r = await runDemo(['--exit-when-ready', ...flags]);
    expect({ code: r.code, tail: r.code === 0 ? '' : r.out.slice(-4000) }).toEqual({ code: 0, tail: '' });
    const rows = kubectlTable(r.out).slice(1);
    expect(rows).toHaveLength(4);
    for (const l of rows) expect(l.split(/\s+/)[2]).toBe('AllAttachmentsReady');
    await expectNothingLeft(r.out);
  }, 240000);

  it('without --exit-when-ready it runs until SIGTERM, then cleans up and exits 0', async () => {
    const r = await runDemo(flags, { signalWhenReady: 'SIGTERM' });
    expect({ code: r.code, tail: r.code === 0 ? '' : r.out.slice(-4000) }).toEqual({ code: 0, tail: '' });
    expect(r.out).toMatch(/running; Ctrl-C \(SIGINT\) or SIGTERM to pid \d+ stops the demo/);
    expect(r.out).toMatch(/SIGTERM: stopping/);
    expect(r.out).toMatch(/demo stopped \(SIGTERM\)/);
    await expectNothingLeft(r.out);
  }, 240000);
});
