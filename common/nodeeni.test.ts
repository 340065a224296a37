import { parseSpec, dpdkEnabled, subnetRefs } from './nodeeni.js';

const base = { nodeSelector: { ng: 'multi-eni' }, subnetID: 'subnet-0f59b4f14737be9ad', securityGroupIDs: ['sg-05da196f3314d4af8'] };

describe('NodeENI spec', () => {
  it('applies the Go controller defaults', () => {
    const r = parseSpec(base);
    expect(r.ok && r.spec).toMatchObject({ deviceIndex: 1, deleteOnTermination: true, dpdkDriver: 'vfio-pci' });
  });

  it('accepts dpdkEnabled as an alias of enableDPDK', () => {
    const r = parseSpec({ ...base, dpdkEnabled: true });
    expect(r.ok && dpdkEnabled(r.spec)).toBe(true);
    const off = parseSpec(base);
    expect(off.ok && dpdkEnabled(off.spec)).toBe(false);
  });

  it('names the field and the reason for bad input', () => {
    const r = parseSpec({ ...base, mtu: 100000, dpdkPCIAddress: 'pci-7', subnetID: 'subnet_1' });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toContain('spec.mtu');
      expect(r.error).toContain('spec.dpdkPCIAddress: must look like 0000:00:06.0');
      expect(r.error).toContain('spec.subnetID: must look like subnet-');
    }
  });

  it('requires a subnet source and a security group source', () => {
    const r = parseSpec({ nodeSelector: {} });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toContain('one of subnetID, subnetName, subnetIDs or subnetNames is required');
      expect(r.error).toContain('one of securityGroupIDs or securityGroupNames is required');
    }
  });

  it('rejects an MTU below the minimum but allows 0 (leave alone)', () => {
    expect(parseSpec({ ...base, mtu: 100 }).ok).toBe(false);
    expect(parseSpec({ ...base, mtu: 0 }).ok).toBe(true);
  });

  it('collects subnets from every source in order, without repeats', () => {
    const r = parseSpec({ ...base, subnetIDs: ['subnet-b', 'subnet-0f59b4f14737be9ad'], subnetNames: ['x', 'y'], subnetName: 'y' });
    expect(r.ok && subnetRefs(r.spec)).toEqual({ ids: ['subnet-0f59b4f14737be9ad', 'subnet-b'], names: ['y', 'x'] });
  });

  it('rejects conflicting spellings of the DPDK switch', () => {
    const r = parseSpec({ ...base, enableDPDK: true, dpdkEnabled: false });
    expect(!r.ok && r.error).toContain('spec.dpdkEnabled: enableDPDK and dpdkEnabled (its alias) disagree');
  });

  it('refuses a selector that would match every node or none, naming the field', () => {
    const err = (nodeSelector: Record<string, string>) => {
      const r = parseSpec({ ...base, nodeSelector });
      return r.ok ? 'accepted' : r.error;
    };
    expect(err({})).toMatch(/^spec\.nodeSelector: nodeSelector must name at least one label/);
    for (const v of ['two words', 'yes,zone!=a', '\u{1F680}', 'v'.repeat(64), '-lead', 'trail.']) expect(err({ ng: v })).toMatch(/^spec\.nodeSelector\.ng: /);
    for (const k of ['node group', '\u{1F680}', `example.com/${'k'.repeat(64)}`, '/ng', 'Example.com/ng', 'ng/']) expect(err({ [k]: 'a' })).toMatch(/^spec\.nodeSelector: nodeSelector keys must be valid label keys/);
    for (const sel of [{ 'node-role.kubernetes.io/worker': '' }, { 'topology.kubernetes.io/zone': 'us-east-1a' }, { ng: 'multi-eni', 'k8s.example.com/tier': 'u_p.f-1' }] as Record<string, string>[]) expect(err(sel)).toBe('accepted');
  });

  it('bounds every string and refuses repeated IDs and names', () => {
    const r = parseSpec({ ...base, subnetID: `subnet-${'a'.repeat(200_000)}`, description: 'd'.repeat(256), securityGroupIDs: ['sg-1', 'sg-2', 'sg-1'], subnetNames: ['x', 'x'] });
    expect(!r.ok && r.error.split('; ')).toEqual([
      'spec.subnetID: Too big: expected string to have <=64 characters',
      'spec.subnetNames.1: Duplicate value: "x"',
      'spec.securityGroupIDs.2: Duplicate value: "sg-1"',
      'spec.description: Too big: expected string to have <=255 characters',
    ]);
  });
});
