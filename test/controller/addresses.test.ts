// Addresses on the ENI for Multus pods, on the local stack with the strict EC2 emulator:
// secondary addresses and /28 prefixes asked for in the spec are on each ENI in EC2 and listed in the status, a spec
// change grows or shrinks them on the same ENIs, a count the instance type cannot hold is refused up front (Failed,
// Degraded, a Warning naming the limit, nothing created) and converges once it fits, a static primary address is the
// ENI's, and `kubectl nodeeni nad` turns the status into NetworkAttachmentDefinitions over exactly those addresses.
import { execFile } from 'node:child_process';
import path from 'node:path';
import yaml from 'js-yaml';
import { DescribeNetworkInterfacesCommand, type NetworkInterface } from '@aws-sdk/client-ec2';
import type { NodeENI } from '../../common/nodeeni.js';
import type { NetworkAttachmentDefinition } from '../../cli/nad.js';
import { prefixBounds } from '../../cli/nad.js';
import { TestCluster, type TestNode } from '../support/cluster.js';
import { eventually, stack } from '../support/env.js';
import { emulatorClient } from '../../dev/stack/seed.js';
import { TAG_CLUSTER } from '../../common/names.js';
import { proxy } from '../support/proxy.js';
import { REPO_ROOT } from '../../dev/stack/paths.js';

const SUBNET = 'multus-test-subnet-1';

function kubectlNodeeni(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [path.join(REPO_ROOT, 'dist', 'cli', 'kubectl-nodeeni.js'), ...args],
      { env: { PATH: process.env.PATH ?? '', KUBECONFIG: stack().kube.kubeconfig }, timeout: 60000 },
      (err, out, errOut) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out, err: errOut }),
    ),
  );
}

const ipToInt = (ip: string) => ip.split('.').reduce((n, p) => n * 256 + Number(p), 0);
function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const off = ipToInt(ip) - ipToInt(base!);
  return off >= 0 && off < size;
}
const secondaries = (e: NetworkInterface) => (e.PrivateIpAddresses ?? []).filter((p) => !p.Primary).map((p) => p.PrivateIpAddress!);
const prefixes = (e: NetworkInterface) => (e.Ipv4Prefixes ?? []).map((p) => p.Ipv4Prefix!);

describe('addresses on the ENI', () => {
  const c = new TestCluster();
  let nodes: TestNode[];
  let single: TestNode;

  beforeAll(async () => {
    await proxy.reset();
    nodes = await c.addNodes(2);
    single = (await c.addNodes(1, { ng: `${c.nodeGroup}-static` }))[0]!;
    c.controller.start();
  }, 120000);
  afterAll(() => c.teardown(), 180000);

  const subnet = () => stack().seed.subnets.find((s) => s.name === SUBNET)!;
  const manifest = (name: string, extra: Partial<NodeENI['spec']>, ng = c.nodeGroup): NodeENI => ({
    apiVersion: 'networking.k8s.aws/v1alpha1',
    kind: 'NodeENI',
    metadata: { name },
    spec: { nodeSelector: { ng }, subnetName: SUBNET, securityGroupIDs: [stack().seed.securityGroups[0]!.id], deviceIndex: 2, ...extra },
  });
  // Through the EC2 proxy: it holds the /28 prefixes (moto has no prefix delegation).
  const enisOf = async (name: string): Promise<NetworkInterface[]> => {
    const r = await emulatorClient(stack().ec2.endpoint, stack().ec2.region).send(
      new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'tag:NodeENI', Values: [name] }, { Name: `tag:${TAG_CLUSTER}`, Values: [c.runId] }] }),
    );
    return r.NetworkInterfaces ?? [];
  };

  it('secondary addresses and /28 prefixes: on each ENI in EC2, in the status, as NADs; grown and shrunk on the same ENIs', async () => {
    const name = `addr-${c.runId}`;
    await c.apply(manifest(name, { secondaryIPv4Count: 3, ipv4PrefixCount: 1 }));
    const obj = await c.waitReady(name, 2);
    const enis = await enisOf(name);
    expect(enis).toHaveLength(2);
    const all: string[] = [];
    for (const e of enis) {
      expect(secondaries(e)).toHaveLength(3);
      expect(prefixes(e)).toHaveLength(1);
      for (const ip of [e.PrivateIpAddress!, ...secondaries(e)]) expect(inCidr(ip, subnet().cidr)).toBe(true);
      const [first, last] = prefixBounds(prefixes(e)[0]!);
      expect(prefixes(e)[0]).toMatch(/\/28$/);
      expect(inCidr(first, subnet().cidr) && inCidr(last, subnet().cidr)).toBe(true);
      all.push(e.PrivateIpAddress!, ...secondaries(e), ...Array.from({ length: 16 }, (_, i) => `${first.split('.').slice(0, 3).join('.')}.${Number(first.split('.')[3]) + i}`));
      // The status lists exactly what EC2 has.
      const a = obj.status!.attachments!.find((x) => x.eniID === e.NetworkInterfaceId)!;
      expect([a.privateIPv4Address, a.secondaryIPv4Addresses, a.ipv4Prefixes]).toEqual([e.PrivateIpAddress, secondaries(e), prefixes(e)]);
    }
    // No address is on two ENIs (a prefix never overlaps another ENI's address).
    expect(new Set(all).size).toBe(all.length);

    // One NetworkAttachmentDefinition per attachment, over exactly that ENI's addresses, for its node.
    const nad = await kubectlNodeeni('nad', name, '--nad-namespace', 'upf');
    expect(nad.code).toBe(0);
    const defs = yaml.loadAll(nad.out) as NetworkAttachmentDefinition[];
    expect(defs.map((d) => d.metadata.annotations['networking.k8s.aws/node']).sort()).toEqual(nodes.map((n) => n.name).sort());
    for (const d of defs) {
      const e = enis.find((x) => x.NetworkInterfaceId === d.metadata.annotations['networking.k8s.aws/eni'])!;
      const config = JSON.parse(d.spec.config) as { type: string; master: string; ipam: { type: string; ranges: { subnet: string; rangeStart: string; rangeEnd: string; gateway: string }[][] } };
      expect(d.metadata.namespace).toBe('upf');
      expect([config.type, config.master, config.ipam.type]).toEqual(['ipvlan', 'eth2', 'host-local']);
      const [pStart, pEnd] = prefixBounds(prefixes(e)[0]!);
      expect(config.ipam.ranges).toEqual([
        [...secondaries(e).map((ip) => [ip, ip]), [pStart, pEnd]].map(([rangeStart, rangeEnd]) => ({ subnet: subnet().cidr, rangeStart, rangeEnd, gateway: subnet().cidr.replace(/0\/24$/, '1') })),
      ]);
    }

    await c.patchSpec(name, { secondaryIPv4Count: 5, ipv4PrefixCount: 0 });
    const grown = await eventually('five secondaries and no prefix on the same ENIs, in EC2 and in the status', async () => {
      const now = await enisOf(name);
      const st = (await c.get(name))?.status?.attachments ?? [];
      const done =
        now.length === 2 &&
        now.every((e) => secondaries(e).length === 5 && prefixes(e).length === 0) &&
        st.length === 2 &&
        st.every((a) => a.phase === 'Ready' && a.secondaryIPv4Addresses?.length === 5 && a.ipv4Prefixes === undefined);
      return done ? now : false;
    }, 90000);
    expect(grown.map((e) => e.NetworkInterfaceId).sort()).toEqual(enis.map((e) => e.NetworkInterfaceId).sort());
    // The three addresses pods may already use are kept.
    for (const e of enis) expect(secondaries(grown.find((g) => g.NetworkInterfaceId === e.NetworkInterfaceId)!)).toEqual(expect.arrayContaining(secondaries(e)));

    await c.delete(name);
    await c.waitGone(name);
    expect(await enisOf(name)).toEqual([]);
  }, 240000);

  it("more addresses than the instance type takes per interface: refused up front naming the limit, nothing created; fits at the limit", async () => {
    const name = `addr-limit-${c.runId}`;
    // m5.4xlarge takes 30 IPv4 addresses per interface: 30 secondaries and the primary are 31.
    await proxy.resetCalls();
    await c.apply(manifest(name, { secondaryIPv4Count: 30 }));
    const degraded = await eventually('Degraded=True naming the limit', async () => (await c.get(name))?.status?.conditions?.find((x) => x.type === 'Degraded' && x.status === 'True') ?? false, 90000);
    expect(degraded.message).toContain('need 31 IPv4 addresses per interface; m5.4xlarge allows 30');
    const st = (await c.get(name))!.status!.attachments!;
    expect(st.map((a) => a.phase)).toEqual(['Failed', 'Failed']);
    const warnings = await eventually('a Warning per node', async () => {
      const w = (await c.events(name)).filter((e) => e.type === 'Warning' && e.reason === 'AddressLimitExceeded');
      return w.length >= 2 ? w : false;
    });
    expect(warnings[0]!.message).toContain('spec.secondaryIPv4Count (30)');
    expect(await enisOf(name)).toEqual([]);
    expect((await proxy.calls()).byAction.CreateNetworkInterface ?? 0).toBe(0);

    // 29 and the primary: exactly the limit.
    await c.patchSpec(name, { secondaryIPv4Count: 29 });
    await c.waitReady(name, 2);
    const enis = await enisOf(name);
    expect(enis.map((e) => secondaries(e).length)).toEqual([29, 29]);
    expect(enis.map((e) => e.Attachment?.Status)).toEqual(['attached', 'attached']);
    await c.delete(name);
    await c.waitGone(name);
  }, 240000);

  it('a static primary address is the ENI’s; one outside the subnet is refused naming the field', async () => {
    const name = `addr-static-${c.runId}`;
    const ip = subnet().cidr.replace(/0\/24$/, '200');
    await c.apply(manifest(name, { primaryIPv4Address: ip }, `${c.nodeGroup}-static`));
    const obj = await c.waitReady(name, 1);
    const [eni] = await enisOf(name);
    expect([eni!.PrivateIpAddress, eni!.Attachment?.InstanceId]).toEqual([ip, single.instanceId]);
    expect(obj.status!.attachments![0]!.privateIPv4Address).toBe(ip);
    await c.delete(name);
    await c.waitGone(name);

    const outside = `addr-outside-${c.runId}`;
    await c.apply(manifest(outside, { primaryIPv4Address: '192.168.7.20' }, `${c.nodeGroup}-static`));
    const failed = await eventually('Failed naming the field', async () => (await c.get(outside))?.status?.attachments?.find((a) => a.phase === 'Failed') ?? false, 90000);
    expect(failed.message).toBe(`spec.primaryIPv4Address 192.168.7.20 is not in subnet ${subnet().id} (${subnet().cidr})`);
    expect(await enisOf(outside)).toEqual([]);
    await c.delete(outside);
    await c.waitGone(outside);
  }, 240000);
});
