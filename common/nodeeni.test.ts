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
    const r = parseSpec({ ...base, subnetIDs: ['subnet-b', 'subnet-0f59b4f14737be9ad'], subnetNames: ['x', 'x'], subnetName: 'y' });
    expect(r.ok && subnetRefs(r.spec)).toEqual({ ids: ['subnet-0f59b4f14737be9ad', 'subnet-b'], names: ['y', 'x'] });
  });

  it('rejects conflicting spellings of the DPDK switch', () => {
    const r = parseSpec({ ...base, enableDPDK: true, dpdkEnabled: false });
    expect(!r.ok && r.error).toContain('spec.dpdkEnabled: enableDPDK and dpdkEnabled (its alias) disagree');
  });
});
