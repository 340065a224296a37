import { CLEAR_OVERRIDE, planBind, planRestore } from './dpdk-plan.js';

const pci = '0000:00:08.0';

describe('DPDK driver plans', () => {
  test('bind from a kernel driver: unbind, driver_override, bind', () => {
    expect(planBind({ pci, driver: 'ena' }, 'vfio-pci')).toEqual([
      { path: 'bus/pci/drivers/ena/unbind', value: pci },
      { path: `bus/pci/devices/${pci}/driver_override`, value: 'vfio-pci' },
      { path: 'bus/pci/drivers/vfio-pci/bind', value: pci },
    ]);
  });

  test('already on the target driver: nothing to write', () => {
    expect(planBind({ pci, driver: 'vfio-pci', override: 'vfio-pci' }, 'vfio-pci')).toEqual([]);
  });

  test('finishing a bind cut short after the override: only the bind is left', () => {
    expect(planBind({ pci, override: 'vfio-pci' }, 'vfio-pci')).toEqual([{ path: 'bus/pci/drivers/vfio-pci/bind', value: pci }]);
  });

  test('switching DPDK drivers unbinds the old one', () => {
    expect(planBind({ pci, driver: 'igb_uio', override: 'igb_uio' }, 'vfio-pci').map((s) => s.path)).toEqual([
      'bus/pci/drivers/igb_uio/unbind',
      `bus/pci/devices/${pci}/driver_override`,
      'bus/pci/drivers/vfio-pci/bind',
    ]);
  });

  test('restore: unbind DPDK, clear override, bind the original', () => {
    expect(planRestore({ pci, driver: 'vfio-pci', override: 'vfio-pci' }, 'ena')).toEqual([
      { path: 'bus/pci/drivers/vfio-pci/unbind', value: pci },
      { path: `bus/pci/devices/${pci}/driver_override`, value: CLEAR_OVERRIDE },
      { path: 'bus/pci/drivers/ena/bind', value: pci },
    ]);
  });

  test('restore without a known original lets the kernel probe the matching driver', () => {
    expect(planRestore({ pci, driver: 'vfio-pci' }, undefined)).toEqual([
      { path: 'bus/pci/drivers/vfio-pci/unbind', value: pci },
      { path: 'bus/pci/drivers_probe', value: pci },
    ]);
  });

  test('restore when already back on the original: only a stale override is cleared', () => {
    expect(planRestore({ pci, driver: 'ena' }, 'ena')).toEqual([]);
    expect(planRestore({ pci, driver: 'ena', override: 'vfio-pci' }, 'ena')).toEqual([{ path: `bus/pci/devices/${pci}/driver_override`, value: CLEAR_OVERRIDE }]);
  });
});
