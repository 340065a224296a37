import { ApplicationFailure } from '@temporalio/common';
import { NODE_AGENT_ERRORS } from '../common/node-agent-contract.js';
import {
  normalizeMac,
  normalizePciAddress,
  parseResourceName,
  validateConfigureInput,
  validateDpdkDriver,
  validateMtu,
  validateReleaseInput,
} from './validate.js';

function failureOf(fn: () => unknown): ApplicationFailure {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApplicationFailure) return err;
    throw err;
  }
  throw new Error('expected an ApplicationFailure');
}

const base = { nodeENI: 'n1', eniId: 'eni-0123456789abcdef0', macAddress: '0E:AA:bb:cc:dd:01', deviceIndex: 2 };

describe('validate', () => {
  test('MAC addresses are normalised to lowercase; anything else names the field', () => {
    expect(normalizeMac('macAddress', '0E:AA:BB:CC:DD:EE')).toBe('0e:aa:bb:cc:dd:ee');
    for (const bad of ['0e-aa-bb-cc-dd-ee', '0e:aa:bb:cc:dd', 'zz:aa:bb:cc:dd:ee', '', 42]) {
      const f = failureOf(() => normalizeMac('macAddress', bad));
      expect(f.nonRetryable).toBe(true);
      expect(f.type).toBe(NODE_AGENT_ERRORS.badInput);
      expect(f.message).toMatch(/^macAddress: .*not a MAC address/);
    }
  });

  test('PCI addresses: full and short forms, malformed rejected', () => {
    expect(normalizePciAddress('p', '0000:00:06.0')).toBe('0000:00:06.0');
    expect(normalizePciAddress('p', '00:1F.7')).toBe('0000:00:1f.7');
    for (const bad of ['0000:00:06', '0000:00:20.0', '0000:00:06.8', '00:06.0x', 'eth0']) {
      expect(failureOf(() => normalizePciAddress('dpdk.pciAddress', bad)).message).toMatch(/^dpdk\.pciAddress: .*not a PCI address/);
    }
  });

  test('DPDK drivers: default vfio-pci, known ones accepted, others rejected', () => {
    expect(validateDpdkDriver('dpdk.driver', undefined)).toBe('vfio-pci');
    expect(validateDpdkDriver('dpdk.driver', 'igb_uio')).toBe('igb_uio');
    const f = failureOf(() => validateDpdkDriver('dpdk.driver', 'ena'));
    expect(f.message).toBe('dpdk.driver: unknown DPDK driver "ena" (expected one of vfio-pci, igb_uio, uio_pci_generic)');
  });

  test('MTU: 0 and undefined leave it alone; out-of-range and fractional values are rejected', () => {
    expect(validateMtu('mtu', 0)).toBeUndefined();
    expect(validateMtu('mtu', undefined)).toBeUndefined();
    expect(validateMtu('mtu', 9001)).toBe(9001);
    for (const bad of [67, 65536, 1500.5, -1, '1500']) expect(failureOf(() => validateMtu('mtu', bad)).message).toMatch(/^mtu: /);
  });

  test('resource names split into prefix and name; a bare name gets intel.com', () => {
    expect(parseResourceName('r', 'intel.com/sriov_kernel')).toEqual({ prefix: 'intel.com', name: 'sriov_kernel' });
    expect(parseResourceName('r', 'sriov_dpdk')).toEqual({ prefix: 'intel.com', name: 'sriov_dpdk' });
    expect(parseResourceName('r', 'example.org/Net_1')).toEqual({ prefix: 'example.org', name: 'Net_1' });
    expect(failureOf(() => parseResourceName('resourceName', 'intel.com/sriov-net')).message).toMatch(/letters, digits and underscores/);
    expect(failureOf(() => parseResourceName('resourceName', 'Intel_Com/x')).message).toMatch(/not a DNS subdomain/);
    expect(failureOf(() => parseResourceName('resourceName', 'a/b/c')).message).toMatch(/^resourceName: /);
  });

  test('configure input: normalised spec with defaults', () => {
    expect(validateConfigureInput({ ...base, mtu: 9001, dpdk: { driver: '', pciAddress: '00:08.0' }, resourceName: 'intel.com/x' }, 60)).toEqual({
      nodeENI: 'n1',
      eniId: 'eni-0123456789abcdef0',
      mac: '0e:aa:bb:cc:dd:01',
      mtu: 9001,
      linkWaitSeconds: 60,
      dpdk: { driver: 'vfio-pci', pciAddress: '0000:00:08.0' },
      resource: { prefix: 'intel.com', name: 'x' },
    });
    expect(validateConfigureInput({ ...base, mtu: 0, linkWaitSeconds: 5 }, 60)).toEqual({
      nodeENI: 'n1',
      eniId: 'eni-0123456789abcdef0',
      mac: '0e:aa:bb:cc:dd:01',
      linkWaitSeconds: 5,
    });
    expect(failureOf(() => validateConfigureInput({ ...base, eniId: 'i-123' }, 60)).message).toMatch(/^eniId: /);
    expect(failureOf(() => validateConfigureInput({ ...base, linkWaitSeconds: -1 }, 60)).message).toMatch(/^linkWaitSeconds: /);
  });

  test('release input', () => {
    expect(validateReleaseInput({ nodeENI: 'n', eniId: 'eni-0123456789abcdef0', macAddress: '0e:aa:bb:cc:dd:01', pciAddress: '0000:00:08.0' })).toEqual({
      nodeENI: 'n',
      eniId: 'eni-0123456789abcdef0',
      mac: '0e:aa:bb:cc:dd:01',
      pciAddress: '0000:00:08.0',
    });
    expect(failureOf(() => validateReleaseInput({ nodeENI: 'n', eniId: 'eni-0123456789abcdef0', macAddress: 'x', dpdk: { driver: 'vfio-pci' } })).message).toMatch(/^macAddress/);
  });
});
