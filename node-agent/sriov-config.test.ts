import { ApplicationFailure } from '@temporalio/common';
import { findDevice, parseSriovConfig, renderSriovConfig, sameConfig, withDevice, withoutDevice, type SriovConfig } from './sriov-config.js';

const kernelDev = { prefix: 'intel.com', name: 'sriov_kernel', driver: 'ena', pci: '0000:00:07.0' };
const dpdkDev = { prefix: 'intel.com', name: 'intel_sriov_netdevice', driver: 'vfio-pci', pci: '0000:00:08.0' };

describe('SR-IOV device plugin config edits', () => {
  test('an empty or missing file is an empty config; malformed content throws', () => {
    expect(parseSriovConfig(undefined)).toEqual({ resourceList: [] });
    expect(parseSriovConfig('  ')).toEqual({ resourceList: [] });
    expect(() => parseSriovConfig('[]')).toThrow(/not a JSON object/);
    expect(() => parseSriovConfig('{"resourceList": 3}')).toThrow(/resourceList/);
    expect(() => parseSriovConfig('{')).toThrow();
  });

  test('adds a device in the plugin format', () => {
    expect(withDevice({ resourceList: [] }, kernelDev)).toEqual({
      resourceList: [{ resourcePrefix: 'intel.com', resourceName: 'sriov_kernel', selectors: [{ drivers: ['ena'], pciAddresses: ['0000:00:07.0'] }] }],
    });
  });

  test('a repeat changes nothing', () => {
    const once = withDevice({ resourceList: [] }, dpdkDev);
    const twice = withDevice(once, dpdkDev);
    expect(sameConfig(once, twice)).toBe(true);
    expect(renderSriovConfig(twice)).toBe(renderSriovConfig(once));
  });

  test('devices of one resource and driver share a selector, sorted', () => {
    const a = withDevice({ resourceList: [] }, { ...dpdkDev, pci: '0000:00:09.0' });
    const b = withDevice(a, dpdkDev);
    expect(b.resourceList).toEqual([
      { resourcePrefix: 'intel.com', resourceName: 'intel_sriov_netdevice', selectors: [{ drivers: ['vfio-pci'], pciAddresses: ['0000:00:08.0', '0000:00:09.0'] }] },
    ]);
  });

  test("other entries and unknown fields are kept; a moved device leaves its old place", () => {
    const start: SriovConfig = {
      resourceList: [
        { resourceName: 'other', deviceType: 'netDevice', selectors: [{ vendors: ['8086'], devices: ['154c'] }] },
        { resourcePrefix: 'intel.com', resourceName: 'sriov_kernel', selectors: [{ drivers: ['ena'], pciAddresses: ['0000:00:08.0'] }] },
      ],
    };
    const next = withDevice(start, dpdkDev);
    expect(next.resourceList).toEqual([
      { resourceName: 'other', deviceType: 'netDevice', selectors: [{ vendors: ['8086'], devices: ['154c'] }] },
      { resourcePrefix: 'intel.com', resourceName: 'intel_sriov_netdevice', selectors: [{ drivers: ['vfio-pci'], pciAddresses: ['0000:00:08.0'] }] },
    ]);
    expect(start.resourceList).toHaveLength(2); // input not mutated
    expect(findDevice(next, '0000:00:08.0')).toEqual({ prefix: 'intel.com', name: 'intel_sriov_netdevice', drivers: ['vfio-pci'] });
  });

  test('removing the last address drops the selector and the resource (an empty list would match every device)', () => {
    const both = withDevice(withDevice({ resourceList: [] }, kernelDev), dpdkDev);
    const one = withoutDevice(both, kernelDev.pci);
    expect(one.resourceList.map((r) => r.resourceName)).toEqual(['intel_sriov_netdevice']);
    expect(withoutDevice(one, dpdkDev.pci)).toEqual({ resourceList: [] });
    expect(sameConfig(withoutDevice(one, '0000:00:01.0'), one)).toBe(true);
  });

  test('removal keeps a selector that still lists other devices, and other keys in it', () => {
    const start: SriovConfig = {
      resourceList: [{ resourceName: 'x', selectors: [{ drivers: ['ena'], pciAddresses: ['0000:00:07.0', '0000:00:09.0'], vendors: ['1d0f'] }] }],
    };
    expect(withoutDevice(start, '0000:00:07.0').resourceList).toEqual([
      { resourceName: 'x', selectors: [{ drivers: ['ena'], pciAddresses: ['0000:00:09.0'], vendors: ['1d0f'] }] },
    ]);
  });

  test('a resource name used with another prefix is rejected (the plugin needs unique names)', () => {
    const start = withDevice({ resourceList: [] }, { ...kernelDev, prefix: 'example.org' });
    expect(() => withDevice(start, kernelDev)).toThrow(ApplicationFailure);
    expect(() => withDevice(start, kernelDev)).toThrow(/example\.org\/sriov_kernel/);
  });

  test('a missing prefix means the plugin default, intel.com', () => {
    const start: SriovConfig = { resourceList: [{ resourceName: 'sriov_kernel', selectors: [{ drivers: ['ena'], pciAddresses: ['0000:00:09.0'] }] }] };
    expect(withDevice(start, kernelDev).resourceList).toEqual([
      { resourceName: 'sriov_kernel', selectors: [{ drivers: ['ena'], pciAddresses: ['0000:00:07.0', '0000:00:09.0'] }] },
    ]);
  });

  test('equality ignores key order and formatting', () => {
    const a = parseSriovConfig('{"resourceList":[{"resourceName":"a","resourcePrefix":"intel.com"}]}');
    const b = parseSriovConfig('{\n "resourceList": [ { "resourcePrefix": "intel.com", "resourceName": "a" } ]\n}');
    expect(sameConfig(a, b)).toBe(true);
    expect(sameConfig(a, parseSriovConfig('{"resourceList":[{"resourceName":"b"}]}'))).toBe(false);
  });
});
