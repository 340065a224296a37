// Bad NodeENI manifests, generated from the seeds' valid ones: each breaks one field and says what must happen.
//   rejected: the apiserver refuses it at `kubectl apply`, with a message naming the field, and so does the
//             controller's own parser (common/nodeeni.ts parseSpec);
//   degraded: the schema admits it (it is well formed) but it cannot be satisfied (a subnet that does not exist, a
//             security group of another VPC, ...): the controller shows Degraded=True and a Warning Event naming it.
// Deterministic: the same cases in the same order on every run (no randomness), so a failure names a stable case ID.
import fs from 'node:fs';
import path from 'node:path';
import { load } from 'js-yaml';
import type { Seed } from '../../dev/stack/seed.js';

export type Outcome = 'rejected' | 'degraded';
export type Spec = Record<string, unknown>;

export interface BadCase {
  /** Stable, unique, usable in a Kubernetes name: `r017`, `d003`. */
  id: string;
  /** The field path the case breaks, as the apiserver prints it: `spec.subnetIDs[1]`, `spec.mtu`, `spec.nodeSelector`. */
  field: string;
  /** What was done to the base, for a human reading a failure. */
  mutation: string;
  /** The seed manifest the case starts from. */
  base: string;
  outcome: Outcome;
  spec: Spec;
  /** Words the message must carry besides the field path (for rules about several fields, e.g. "subnetIDs"). */
  mentions?: string[];
}

const SEEDS_DIR = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'fixtures', 'seeds');

/** The seeds' specs by file name, as users have them (account-specific IDs and all). */
export function seedSpecs(): Map<string, Spec> {
  const out = new Map<string, Spec>();
  for (const f of fs.readdirSync(SEEDS_DIR).filter((x) => x.endsWith('.yaml')).sort()) {
    const doc = load(fs.readFileSync(path.join(SEEDS_DIR, f), 'utf8')) as { spec: Spec };
    out.set(f, doc.spec);
  }
  return out;
}

const clone = (s: Spec): Spec => JSON.parse(JSON.stringify(s)) as Spec;
const str = (v: unknown) => {
  const j = JSON.stringify(v) ?? String(v);
  return j.length > 40 ? `${j.slice(0, 37)}...(${j.length} chars)` : j;
};

/** `spec.x[1]` → ['x', 1]. */
function fieldPath(field: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const part of field.replace(/^spec\.?/, '').split('.')) {
    const m = /^([^[]+)((\[\d+\])*)$/.exec(part);
    if (!m) throw new Error(`bad field path ${field}`);
    out.push(m[1]!);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

/** The base with `field` set to `value` (or removed when value is `undefined`). */
function withField(base: Spec, field: string, value: unknown): Spec {
  const s = clone(base);
  const p = fieldPath(field);
  let node = s as Record<string | number, unknown>;
  for (const k of p.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  const last = p[p.length - 1]!;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return s;
}

interface Draft {
  field: string;
  mutation: string;
  spec: Spec;
  mentions?: string[];
}

class Builder {
  readonly drafts: (Draft & { base: string })[] = [];
  constructor(readonly bases: Map<string, Spec>) {}

  base(file: string): Spec {
    const b = this.bases.get(file);
    if (!b) throw new Error(`no seed ${file}`);
    return b;
  }

  /** Sets `field` to each value on each base. */
  set(files: string[], field: string, values: unknown[], what = 'set to', mentions?: string[]): void {
    for (const file of files) {
      for (const v of values) this.drafts.push({ base: file, field, mutation: `${field} ${what} ${str(v)}`, spec: withField(this.base(file), field, v), ...(mentions ? { mentions } : {}) });
    }
  }

  /** A free-form change of a base, labelled with the field it breaks. */
  change(file: string, field: string, mutation: string, f: (s: Spec) => void, mentions?: string[]): void {
    const s = clone(this.base(file));
    f(s);
    this.drafts.push({ base: file, field, mutation, spec: s, ...(mentions ? { mentions } : {}) });
  }
}

// Seeds the cases start from: IDs (one subnet), IDs with DPDK, names (two subnets), the SR-IOV kernel case.
const IDS = 'case1-control-plane.yaml';
const DPDK = 'case3-dpdk.yaml';
const NAMES = 'multi-subnet-by-name.yaml';
const SRIOV = 'case2-sriov-kernel.yaml';
const ALIAS = 'dpdk-enabled-alias.yaml';

const SUBNET = 'subnet-0f59b4f14737be9ad';
const SUBNET2 = 'subnet-0a1b2c3d4e5f6a7b8';
const SG = 'sg-05da196f3314d4af8';
const SG2 = 'sg-0123456789abcdef0';

/** Strings the API cannot take for an EC2 ID of either kind. */
const badIdsCommon = ['', ' ', '-', 'x', '0f59b4f14737be9ad', 'subnet_0f59', 'SUBNET-0F59', 'subnet-0F59B4F1', 'subnet-xyz!', 'subnet-', 'subnet--a', 'subnet-a-', ` ${SUBNET}`, `${SUBNET} `, `${SUBNET}\n`, 'subnet-ä1', 'subnet-0f59/1', 'arn:aws:ec2:us-east-1:123456789012:subnet/subnet-0f59', 'sg-05da196f3314d4af8', `subnet-${'a'.repeat(58)}`, `subnet-${'a'.repeat(200_000)}`];
const badSgIds = ['', ' ', 'sg', 'sg-', 'sg_05da', 'SG-05DA', 'sg-05DA', 'sg-xyz!', 'sg--a', 'sg-a-', ` ${SG}`, `${SG} `, 'sg-ü', 'sg-1/2', 'subnet-0f59b4f14737be9ad', 'default', `sg-${'a'.repeat(62)}`];

const longName = 'n'.repeat(256);

/** Every `rejected` case: well-formed YAML whose spec the CRD (and parseSpec) must refuse, naming `field`. */
function rejectedDrafts(b: Builder): void {
  const all = [IDS, NAMES];

  // --- the spec itself
  b.drafts.push({ base: IDS, field: 'spec', mutation: 'spec is a string', spec: 'ng=multi-eni' as unknown as Spec });
  b.drafts.push({ base: IDS, field: 'spec', mutation: 'spec is a list', spec: [b.base(IDS)] as unknown as Spec });
  b.drafts.push({ base: IDS, field: 'spec', mutation: 'spec is a number', spec: 42 as unknown as Spec });

  // --- nodeSelector: missing, wrong types, empty, null values, invalid label keys and values
  b.set(all, 'spec.nodeSelector', [undefined], 'removed');
  b.set(all, 'spec.nodeSelector', ['ng=multi-eni', ['ng', 'multi-eni'], 5, true, {}], 'set to');
  b.set(all, 'spec.nodeSelector.ng', [1, 9001, true, false, ['multi-eni'], { a: 'b' }], 'set to');
  // A forgotten value: `ng:` or `ng: null` is null, dropped by the apiserver before validation unless refused.
  b.set(all, 'spec.nodeSelector', [{ ng: null }], 'set to', ['nodeSelector']);
  b.set(all, 'spec.nodeSelector', [{ ng: null, 'topology.kubernetes.io/zone': 'us-east-1a' }, { 'kubernetes.io/os': 'linux', ng: null }], 'set to (one label without a value)');
  const badValues = [
    'multi eni', ' multi-eni', 'multi-eni ', 'yes,zone!=a', 'a,b!=c', 'ng=multi-eni', 'multi-eni,', '\u{1F680}', 'multi-\u{1F680}', 'é', 'v'.repeat(64), '-a', 'a-', '.a', 'a.', '_a', 'a_',
    'a/b', 'a:b', 'a\nb', 'a\tb', 'a*', '(a)', 'a"b', "a'b", 'in (a,b)', '!a',
  ];
  b.set(all, 'spec.nodeSelector.ng', badValues, 'set to');
  const badKeys = [
    '', ' ', 'node group', ' ng', 'ng ', '\u{1F680}', 'ng\u{1F680}', 'k'.repeat(64), `example.com/${'k'.repeat(64)}`, `${'p'.repeat(254)}/ng`, '/ng', 'ng/', 'a/b/c',
    'Example.com/ng', 'EXAMPLE.COM/ng', 'a..b/ng', 'a.-b/ng', 'a-.b/ng', '-a/ng', 'a-/ng', '.a/ng', 'a./ng', 'a_b.com/ng', 'a b/ng', '-ng', 'ng-', '_ng', 'ng.', 'ng=x', 'ng!', 'a,b!=c', 'é',
  ];
  for (const file of all) {
    for (const k of badKeys) {
      b.change(file, 'spec.nodeSelector', `nodeSelector key ${str(k)}`, (s) => {
        s.nodeSelector = { [k]: 'multi-eni' };
      });
      // And next to a valid label: one bad key must not hide behind a good one.
    }
  }
  for (const k of ['node group', 'a..b/ng', '\u{1F680}']) {
    b.change(IDS, 'spec.nodeSelector', `nodeSelector key ${str(k)} next to a valid label`, (s) => {
      s.nodeSelector = { 'kubernetes.io/os': 'linux', [k]: 'x' };
    });
  }
  b.change(IDS, 'spec.nodeSelector', '33 labels (at most 32)', (s) => {
    s.nodeSelector = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`l${i}`, 'x']));
  });

  // --- subnets: none, wrong types, malformed IDs, over-long, repeats
  b.change(IDS, 'spec', 'no subnet at all (subnetID removed)', (s) => delete s.subnetID, ['subnetID', 'subnetIDs']);
  b.change(NAMES, 'spec', 'no subnet at all (subnetNames removed)', (s) => delete s.subnetNames, ['subnetName', 'subnetNames']);
  b.change(IDS, 'spec', 'only an empty subnetIDs list', (s) => ((s.subnetIDs = []), delete s.subnetID), ['subnetIDs']);
  b.change(NAMES, 'spec', 'only an empty subnetNames list', (s) => (s.subnetNames = []), ['subnetNames']);
  b.set([IDS], 'spec.subnetID', [42, true, [SUBNET], { id: SUBNET }], 'set to');
  b.set([IDS], 'spec.subnetID', badIdsCommon, 'set to');
  b.change(IDS, 'spec.subnetIDs', 'subnetIDs a string', (s) => ((s.subnetIDs = SUBNET), delete s.subnetID));
  b.change(IDS, 'spec.subnetIDs', 'subnetIDs an object', (s) => ((s.subnetIDs = { a: SUBNET }), delete s.subnetID));
  b.change(IDS, 'spec.subnetIDs[1]', 'subnetIDs[1] a number', (s) => ((s.subnetIDs = [SUBNET, 7]), delete s.subnetID));
  b.change(IDS, 'spec.subnetIDs[1]', 'subnetIDs[1] a list', (s) => ((s.subnetIDs = [SUBNET, [SUBNET2]]), delete s.subnetID));
  b.change(IDS, 'spec.subnetIDs[1]', 'subnetIDs[1] null', (s) => ((s.subnetIDs = [SUBNET, null]), delete s.subnetID));
  for (const bad of badIdsCommon.filter((x) => x.length < 1000)) {
    b.change(IDS, 'spec.subnetIDs[1]', `subnetIDs[1] ${str(bad)}`, (s) => ((s.subnetIDs = [SUBNET, bad]), delete s.subnetID));
  }
  b.change(IDS, 'spec.subnetIDs[0]', 'subnetIDs[0] "subnet-xyz!"', (s) => ((s.subnetIDs = ['subnet-xyz!', SUBNET]), delete s.subnetID));
  b.change(IDS, 'spec.subnetIDs[1]', 'subnetIDs repeats an ID', (s) => ((s.subnetIDs = [SUBNET, SUBNET]), delete s.subnetID));
  b.change(IDS, 'spec.subnetIDs[2]', 'subnetIDs repeats an ID later', (s) => ((s.subnetIDs = [SUBNET, SUBNET2, SUBNET]), delete s.subnetID));
  b.change(IDS, 'spec.subnetIDs', '16 subnetIDs (at most 15)', (s) => (s.subnetIDs = Array.from({ length: 16 }, (_, i) => `subnet-${i.toString(16).padStart(17, '0')}`)));
  b.set([NAMES], 'spec.subnetName', ['', 42, ['a'], longName], 'set to');
  b.set([NAMES], 'spec.subnetNames', ['multus-test-subnet-1', { a: 1 }], 'set to');
  b.set([NAMES], 'spec.subnetNames[1]', ['', 42, true, null, ['x'], longName], 'set to');
  b.set([NAMES], 'spec.subnetNames[1]', ['multus-test-subnet-1'], 'set to (repeat of [0])');
  b.change(NAMES, 'spec.subnetNames', '16 subnetNames (at most 15)', (s) => (s.subnetNames = Array.from({ length: 16 }, (_, i) => `subnet-name-${i}`)));

  // --- security groups
  b.change(IDS, 'spec', 'no security group (securityGroupIDs removed)', (s) => delete s.securityGroupIDs, ['securityGroupIDs', 'securityGroupNames']);
  b.change(IDS, 'spec', 'only an empty securityGroupIDs list', (s) => (s.securityGroupIDs = []), ['securityGroupIDs']);
  b.change(NAMES, 'spec', 'only an empty securityGroupNames list', (s) => (s.securityGroupNames = []), ['securityGroupNames']);
  b.set([IDS], 'spec.securityGroupIDs', [SG, { a: SG }, 3], 'set to');
  b.set([IDS], 'spec.securityGroupIDs[0]', [...badSgIds, 5, false, null, [SG]], 'set to');
  b.change(IDS, 'spec.securityGroupIDs[1]', 'securityGroupIDs[1] "sg-"', (s) => (s.securityGroupIDs = [SG, 'sg-']));
  b.change(IDS, 'spec.securityGroupIDs[1]', 'securityGroupIDs repeats an ID', (s) => (s.securityGroupIDs = [SG, SG]));
  b.change(IDS, 'spec.securityGroupIDs[2]', 'securityGroupIDs repeats an ID later', (s) => (s.securityGroupIDs = [SG, SG2, SG]));
  b.change(IDS, 'spec.securityGroupIDs', '17 securityGroupIDs (at most 16)', (s) => (s.securityGroupIDs = Array.from({ length: 17 }, (_, i) => `sg-${i.toString(16).padStart(17, '0')}`)));
  b.set([NAMES], 'spec.securityGroupNames', ['multus-test-sg', 1], 'set to');
  b.set([NAMES], 'spec.securityGroupNames[0]', ['', 42, null, longName], 'set to');
  b.change(NAMES, 'spec.securityGroupNames[1]', 'securityGroupNames repeats a name', (s) => (s.securityGroupNames = ['multus-test-sg', 'multus-test-sg']));
  b.change(NAMES, 'spec.securityGroupNames', '17 securityGroupNames (at most 16)', (s) => (s.securityGroupNames = Array.from({ length: 17 }, (_, i) => `sg-name-${i}`)));

  // --- numbers: deviceIndex, mtu
  b.set(all, 'spec.deviceIndex', [0, -1, 128, 1000, 2 ** 31, 2 ** 53 + 2, 1.5, '2', true, [2], { i: 2 }], 'set to');
  b.set(all, 'spec.mtu', [-1, -576, 1, 68, 575, 9002, 9216, 65535, 2 ** 31, 1500.5, '9001', true, [9001]], 'set to');

  // --- booleans
  for (const f of ['deleteOnTermination', 'enableDPDK', 'dpdkEnabled']) b.set([IDS], `spec.${f}`, ['true', 'yes', 1, 0, [true], { on: true }], 'set to');

  // --- description
  b.set([IDS], 'spec.description', [longName, 'd'.repeat(100_000), 42, ['a'], { a: 1 }], 'set to');

  // --- DPDK fields: enum, PCI address form, resource name form, and the two spellings disagreeing
  b.set([DPDK], 'spec.dpdkDriver', ['', 'mlx5_core', 'VFIO-PCI', 'vfio_pci', 'igb-uio', ' vfio-pci', 'vfio-pci ', 'uio', 42, ['vfio-pci']], 'set to');
  b.set([DPDK, SRIOV], 'spec.dpdkPCIAddress', ['', '0000:00:08.8', '00:08.0', '0000:00:08', '0000:0:08.0', '0000:00:8.0', 'gggg:00:08.0', '0000:00:08.0 ', ' 0000:00:08.0', '0000-00-08.0', '0000:00:08.0\n', '00000:00:08.0', '0000:00:08.00', 'eth1', 8], 'set to');
  b.set([DPDK, SRIOV], 'spec.dpdkResourceName', ['', 'intel.com/', '/sriov', 'a/b/c', 'intel.com/sriov-netdevice', 'Intel.com/sriov', 'intel.com/sriov net', 'intel.com/sriov.net', '-intel.com/x', 'intel.com-/x', 'intel.com/\u{1F680}', `intel.com/${'r'.repeat(250)}`, 42], 'set to');
  b.change(DPDK, 'spec.dpdkEnabled', 'enableDPDK true, dpdkEnabled false', (s) => (s.dpdkEnabled = false));
  b.change(ALIAS, 'spec.dpdkEnabled', 'dpdkEnabled true, enableDPDK false', (s) => (s.enableDPDK = false));

  // --- unknown fields: typos of real ones (kubectl's strict field validation refuses them; pruning would hide them)
  const typos: [string, unknown][] = [
    ['subnetId', SUBNET], ['subnetIds', [SUBNET]], ['securityGroupIds', [SG]], ['securityGroups', [SG]], ['subnet', SUBNET], ['deviceindex', 3], ['MTU', 9001], ['Mtu', 1500],
    ['enableDpdk', true], ['dpdk', true], ['dpdkPciAddress', '0000:00:08.0'], ['nodeselector', { ng: 'x' }], ['selector', { ng: 'x' }], ['deleteOnTerminate', false], ['foo', 'bar'],
  ];
  for (const [k, v] of typos) b.change(IDS, `spec.${k}`, `unknown field ${k}`, (s) => (s[k] = v));
}

/** The seeded resources the degraded cases refer to (subnets, groups, another VPC), from the running stack. */
export type SeedRefs = Pick<Seed, 'vpcId' | 'otherVpc' | 'subnets' | 'securityGroups'>;

/**
 * Every `degraded` case: a spec the schema admits that cannot be satisfied on a node of us-east-1a in the seeded
 * VPC. Their nodeSelector is `nodeGroup` and each has its own device index, so they can all be applied at once
 * next to a good NodeENI (which is given device index 1).
 */
export function degradedCases(seed: SeedRefs, nodeGroup: string): BadCase[] {
  const inA = seed.subnets.filter((s) => s.az === 'us-east-1a');
  const inB = seed.subnets.find((s) => s.az !== 'us-east-1a');
  const [subnetA, subnetA2] = inA;
  const [sg, sg2] = seed.securityGroups;
  if (!subnetA || !subnetA2 || !inB || !sg || !sg2) throw new Error('the stack seed needs two subnets in us-east-1a, one elsewhere and two security groups');
  const sel = { ng: nodeGroup };
  const drafts: Omit<BadCase, 'id' | 'outcome'>[] = [
    // Created and attached, then refused by the node agent: the PCI address is not the device of the ENI's MAC.
    {
      field: 'spec.dpdkPCIAddress',
      base: DPDK,
      mutation: 'a PCI address that is not the ENI\'s device',
      spec: { nodeSelector: sel, subnetID: subnetA.id, securityGroupIDs: [sg.id], enableDPDK: true, dpdkDriver: 'vfio-pci', dpdkPCIAddress: '0000:00:1f.0', dpdkResourceName: 'intel.com/bad_input' },
    },
    // The seeds' own IDs, as users have them: real in their author's account, unknown here.
    { field: 'spec.subnetID', base: IDS, mutation: "the seed's illustrative subnet ID", spec: { nodeSelector: sel, subnetID: SUBNET, securityGroupIDs: [sg.id] } },
    { field: 'spec.subnetID', base: IDS, mutation: 'a well-formed subnet ID that does not exist', spec: { nodeSelector: sel, subnetID: 'subnet-0a1b2c3d4e5f6g7h8', securityGroupIDs: [sg.id] } },
    { field: 'spec.subnetIDs', base: NAMES, mutation: 'subnetIDs[1] does not exist', spec: { nodeSelector: sel, subnetIDs: [subnetA.id, 'subnet-00000000000000000'], securityGroupIDs: [sg.id] } },
    { field: 'spec.subnetName', base: NAMES, mutation: 'subnetName no subnet carries', spec: { nodeSelector: sel, subnetName: 'no-such-subnet', securityGroupIDs: [sg.id] } },
    { field: 'spec.subnetNames', base: NAMES, mutation: 'subnetNames[1] no subnet carries', spec: { nodeSelector: sel, subnetNames: [subnetA.name, 'no-such-subnet-2'], securityGroupNames: [sg.name] } },
    // other-vpc-subnet is a Name tag of the other VPC only: names resolve in the node's VPC.
    { field: 'spec.subnetNames', base: NAMES, mutation: "a subnet name only another VPC carries", spec: { nodeSelector: sel, subnetNames: ['other-vpc-subnet'], securityGroupIDs: [sg.id] } },
    { field: 'spec.securityGroupIDs', base: IDS, mutation: "the seed's illustrative security group ID", spec: { nodeSelector: sel, subnetID: subnetA.id, securityGroupIDs: [SG] } },
    { field: 'spec.securityGroupIDs', base: IDS, mutation: 'securityGroupIDs[1] does not exist', spec: { nodeSelector: sel, subnetID: subnetA.id, securityGroupIDs: [sg.id, SG2] } },
    { field: 'spec.securityGroupNames', base: NAMES, mutation: 'securityGroupNames[1] no group carries', spec: { nodeSelector: sel, subnetID: subnetA.id, securityGroupNames: [sg.name, 'no-such-sg'] } },
    // Well-formed and existing, but unusable from a node in us-east-1a of the seeded VPC.
    { field: 'spec.subnetID', base: IDS, mutation: `a subnet of another AZ (${inB.az})`, spec: { nodeSelector: sel, subnetID: inB.id, securityGroupIDs: [sg.id] } },
    { field: 'spec.subnetNames', base: NAMES, mutation: `a subnet name of another AZ (${inB.name})`, spec: { nodeSelector: sel, subnetNames: [inB.name], securityGroupIDs: [sg.id] } },
    { field: 'spec.subnetID', base: IDS, mutation: 'a subnet of another VPC', spec: { nodeSelector: sel, subnetID: seed.otherVpc.subnetId, securityGroupIDs: [sg.id] } },
    { field: 'spec.securityGroupIDs', base: IDS, mutation: 'a security group of another VPC', spec: { nodeSelector: sel, subnetID: subnetA2.id, securityGroupIDs: [seed.otherVpc.defaultSecurityGroupId] } },
  ];
  return drafts.map((d, i) => ({ ...d, id: `d${String(i).padStart(3, '0')}`, outcome: 'degraded' as const, spec: { ...d.spec, deviceIndex: 2 + i } }));
}

/** Every `rejected` case, from the seeds in the repo; no stack needed. */
export function rejectedCases(bases = seedSpecs()): BadCase[] {
  const b = new Builder(bases);
  rejectedDrafts(b);
  const seen = new Set<string>();
  const out: BadCase[] = [];
  for (const d of b.drafts) {
    const key = JSON.stringify(d.spec);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ ...d, id: `r${String(out.length).padStart(3, '0')}`, outcome: 'rejected' });
  }
  return out;
}

/** A NodeENI object for a case. */
export function manifest(c: BadCase, name: string, labels: Record<string, string> = {}) {
  return { apiVersion: 'networking.k8s.aws/v1alpha1', kind: 'NodeENI', metadata: { name, labels }, spec: c.spec };
}

/** The field path as parseSpec prints it: `spec.subnetIDs[1]` → `spec.subnetIDs.1`. */
export function parserPath(field: string): string {
  return field.replace(/\[(\d+)\]/g, '.$1');
}

/**
 * Whether an error message names `field` (or a path under it): the path followed by `:`, `.`, `[`, a quote or
 * the end, so `spec.mtu` is not found in `spec.mtuX` and `spec` alone is not found in `spec.mtu`.
 */
export function namesField(message: string, field: string): boolean {
  const esc = field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^A-Za-z0-9_.])${esc}([:.["]|\\s|$)`).test(message);
}
