// What the apiserver refuses at `kubectl apply`, naming the field: selectors that would match every node or none,
// unbounded strings, repeated IDs. And what it must keep accepting: every seed manifest as users have it.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { parseSpec } from '../common/nodeeni.js';
import { SEEDS_DIR } from '../dev/demo/manifests.js';
import { stack, uniq } from './support/env.js';

const run = promisify(execFile);

/** `kubectl apply --dry-run=server` of a YAML document: the apiserver's whole validation, nothing stored. */
async function serverDryRun(yaml: string, verb: string[] = ['apply']): Promise<{ ok: true } | { ok: false; error: string }> {
  const s = stack();
  const p = run(path.join(s.bin, 'kubectl'), [...verb, '--dry-run=server', '-f', '-'], { env: { ...process.env, KUBECONFIG: s.kube.kubeconfig }, maxBuffer: 8 << 20 });
  p.child.stdin!.end(yaml);
  try {
    await p;
    return { ok: true };
  } catch (e) {
    return { ok: false, error: String((e as { stderr?: string }).stderr ?? e) };
  }
}

const manifest = (spec: string) => `apiVersion: networking.k8s.aws/v1alpha1\nkind: NodeENI\nmetadata:\n  name: ${uniq('crd-check')}\nspec:\n${spec}`;
const withSelector = (selector: string) => manifest(`  nodeSelector: ${selector}\n  subnetID: subnet-0f59b4f14737be9ad\n  securityGroupIDs: [sg-05da196f3314d4af8]\n`);

describe('NodeENI CRD validation at the apiserver', () => {
  it.each([
    ['a label without a value (null)', '{ng: null}'],
    ['a label without a value (empty YAML)', '{ng: }'],
    ['an empty selector', '{}'],
  ])('refuses %s: it would match every node', async (_what, selector) => {
    const r = await serverDryRun(withSelector(selector));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(/spec\.nodeSelector: Invalid value: .*nodeSelector must name at least one label/);
  });

  // Client-side `kubectl apply` strips null values before sending (null means "delete" there), so only these reach
  // the apiserver with the null in place; the CRD keeps it (nullable) so that a rule refuses it.
  it.each([
    ['kubectl create', ['create']],
    ['kubectl apply --server-side', ['apply', '--server-side']],
  ])('refuses a label without a value next to a valid one (%s): dropped, the rest would match more nodes', async (_what, verb) => {
    for (const selector of ['{ng: null, topology.kubernetes.io/zone: us-east-1a}', '{kubernetes.io/os: linux, ng: }']) {
      const r = await serverDryRun(withSelector(selector), verb);
      expect(r.ok).toBe(false);
      expect(!r.ok && r.error).toMatch(/spec\.nodeSelector: Invalid value: .*nodeSelector has a label without a value/);
    }
  });

  it.each([
    ['a space in a value', "{ng: 'multi eni'}"],
    ['a selector expression as a value', "{ng: 'yes,zone!=a'}"],
    ['an emoji value', '{ng: "\u{1F680}"}'],
    ['a value over 63 characters', `{ng: ${'v'.repeat(64)}}`],
  ])('refuses %s, naming the label', async (_what, selector) => {
    const r = await serverDryRun(withSelector(selector));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(/spec\.nodeSelector\.ng: (Invalid value|Too long)/);
  });

  it.each([
    ['a space in a key', "{'node group': a}"],
    ['an emoji key', '{"\u{1F680}": a}'],
    ['a key name over 63 characters', `{example.com/${'k'.repeat(64)}: a}`],
    ['an empty key prefix', "{'/ng': a}"],
    ['a prefix with an empty DNS label', "{'a..b/ng': a}"],
    ['a prefix DNS label ending in -', "{'a-.b/ng': a}"],
    ['a prefix DNS label starting with -', "{'a.-b/ng': a}"],
    ['a prefix over 253 characters', `{${'p'.repeat(254)}/ng: a}`],
  ])('refuses %s', async (_what, selector) => {
    const r = await serverDryRun(withSelector(selector));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(/spec\.nodeSelector: Invalid value: .*nodeSelector keys must be valid label keys/);
  });

  it('accepts the selectors users write: prefixed keys, empty values, the well-known labels', async () => {
    for (const selector of [
      "{'node-role.kubernetes.io/worker': ''}",
      '{topology.kubernetes.io/zone: us-east-1a, ng: multi-eni}',
      '{kubernetes.io/os: linux}',
      `{${'p'.repeat(63)}.${'q'.repeat(63)}.${'r'.repeat(63)}.${'s'.repeat(61)}/${'n'.repeat(63)}: v}`,
    ]) {
      expect(await serverDryRun(withSelector(selector))).toEqual({ ok: true });
    }
  });

  it('refuses a 200 KB subnet ID by its length, before it is stored', async () => {
    const r = await serverDryRun(manifest(`  nodeSelector: {ng: a}\n  subnetID: subnet-${'a'.repeat(200_000)}\n  securityGroupIDs: [sg-1]\n`));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(/spec\.subnetID: Too long: may not be (longer|more) than 64/);
  });

  it('refuses a repeated ID or name, naming the entry', async () => {
    const cases: [string, RegExp][] = [
      ['  securityGroupIDs: [sg-1, sg-2, sg-1]\n  subnetID: subnet-1\n', /spec\.securityGroupIDs\[2\]: Duplicate value: "sg-1"/],
      ['  securityGroupIDs: [sg-1]\n  subnetIDs: [subnet-1, subnet-1]\n', /spec\.subnetIDs\[1\]: Duplicate value: "subnet-1"/],
      ['  securityGroupNames: [a, a]\n  subnetNames: [x]\n', /spec\.securityGroupNames\[1\]: Duplicate value: "a"/],
    ];
    for (const [spec, expected] of cases) {
      const r = await serverDryRun(manifest(`  nodeSelector: {ng: a}\n${spec}`));
      expect(!r.ok && r.error).toMatch(expected);
    }
  });

  it('refuses addresses no instance type can hold or that cannot be one ENI\'s, naming the field; accepts 49 in all', async () => {
    const base = '  nodeSelector: {ng: a}\n  securityGroupIDs: [sg-1]\n';
    const cases: [string, RegExp | 'ok'][] = [
      ['  subnetID: subnet-1\n  secondaryIPv4Count: 40\n  ipv4PrefixCount: 10\n', /spec\.secondaryIPv4Count: Invalid value: .*secondaryIPv4Count \+ ipv4PrefixCount must be at most 49/],
      ['  subnetID: subnet-1\n  secondaryIPv4Count: 50\n', /spec\.secondaryIPv4Count: Invalid value: 50: spec\.secondaryIPv4Count in body should be less than or equal to 49/],
      ['  subnetID: subnet-1\n  ipv4PrefixCount: -1\n', /spec\.ipv4PrefixCount: Invalid value: -1: spec\.ipv4PrefixCount in body should be greater than or equal to 0/],
      ['  subnetIDs: [subnet-1, subnet-2]\n  primaryIPv4Address: 10.0.1.50\n', /spec\.primaryIPv4Address: Invalid value: .*primaryIPv4Address needs exactly one subnet/],
      ['  subnetID: subnet-1\n  primaryIPv4Address: 10.0.1.256\n', /spec\.primaryIPv4Address: Invalid value: "10\.0\.1\.256": spec\.primaryIPv4Address in body should match/],
      ['  subnetID: subnet-1\n  secondaryIPv4Count: 40\n  ipv4PrefixCount: 9\n  primaryIPv4Address: 10.0.1.50\n', 'ok'],
    ];
    for (const [spec, expected] of cases) {
      const r = await serverDryRun(manifest(base + spec));
      if (expected === 'ok') expect(r).toEqual({ ok: true });
      else expect(!r.ok && r.error).toMatch(expected);
    }
  });

  it("accepts every seed manifest unchanged, and the controller's own parser agrees", async () => {
    const files = fs.readdirSync(SEEDS_DIR).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(7);
    for (const f of files) {
      const text = fs.readFileSync(path.join(SEEDS_DIR, f), 'utf8');
      expect({ file: f, result: await serverDryRun(text) }).toEqual({ file: f, result: { ok: true } });
    }
  });

  it("the controller's parser refuses what the apiserver refuses, naming the same field", () => {
    const base = { subnetID: 'subnet-1', securityGroupIDs: ['sg-1'] };
    const err = (spec: unknown) => {
      const r = parseSpec(spec);
      return r.ok ? 'accepted' : r.error;
    };
    expect(err({ ...base, nodeSelector: {} })).toMatch(/^spec\.nodeSelector: nodeSelector must name at least one label/);
    expect(err({ ...base, nodeSelector: { ng: 'yes,zone!=a' } })).toMatch(/spec\.nodeSelector\.ng: must be a valid label value/);
    expect(err({ ...base, nodeSelector: { 'node group': 'a' } })).toMatch(/spec\.nodeSelector: nodeSelector keys must be valid label keys/);
    expect(err({ ...base, nodeSelector: { [`${'p'.repeat(63)}.${'q'.repeat(63)}.${'r'.repeat(63)}.${'s'.repeat(61)}/${'n'.repeat(63)}`]: 'v' } })).toBe('accepted');
    expect(err({ ...base, nodeSelector: { [`${'p'.repeat(254)}/ng`]: 'v' } })).toMatch(/spec\.nodeSelector: nodeSelector keys must be valid label keys/);
    expect(err({ ...base, nodeSelector: { 'a..b/ng': 'a' } })).toMatch(/spec\.nodeSelector: nodeSelector keys must be valid label keys/);
    expect(err({ ...base, nodeSelector: { ng: null, zone: 'a' } })).toMatch(/spec\.nodeSelector\.ng: .*expected string, received null/);
    expect(err({ ...base, nodeSelector: { ng: 'a' }, subnetId: 'subnet-2' })).toBe('spec.subnetId: unknown field "spec.subnetId"');
    expect(err({ ...base, nodeSelector: { ng: 'a' }, subnetID: `subnet-${'a'.repeat(200_000)}` })).toMatch(/spec\.subnetID: Too big|spec\.subnetID: .*64/);
    expect(err({ ...base, nodeSelector: { ng: 'a' }, securityGroupIDs: ['sg-1', 'sg-1'] })).toBe('spec.securityGroupIDs.1: Duplicate value: "sg-1"');
  });
});
