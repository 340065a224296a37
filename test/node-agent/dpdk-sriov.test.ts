// DPDK binding and the SR-IOV device plugin config against a sysfs tree built in a temp dir, with real links
// in a network namespace standing in for the devices' kernel interfaces. The seed's cases:
//   case 2: kernel driver + resource intel.com/sriov_kernel, PCI 0000:00:07.0
//   case 3: vfio-pci + resource intel.com/intel_sriov_netdevice, PCI 0000:00:08.0
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { NODE_AGENT_ERRORS, type NodeAgentActivities } from '../../common/node-agent-contract.js';
import { createNodeAgentActivities } from '../../node-agent/activities.js';
import { activityEnv, runActivity } from './support/activity.js';
import { FakeKernel, type FakeDevice } from '../../dev/stack/sim/fake-kernel.js';
import { isUp, tempDir, TestNetns } from '../../dev/stack/sim/netns.js';

const DEV = {
  primary: { pci: '0000:00:05.0', mac: '0e:20:00:00:00:05', ifname: 'ens5', kernelDriver: 'ena' },
  kernel: { pci: '0000:00:07.0', mac: '0e:20:00:00:00:07', ifname: 'ens7', kernelDriver: 'ena' },
  dpdk: { pci: '0000:00:08.0', mac: '0e:20:00:00:00:08', ifname: 'ens8', kernelDriver: 'ena' },
  spare: { pci: '0000:00:09.0', mac: '0e:20:00:00:00:09', ifname: 'ens9', kernelDriver: 'ena' },
} satisfies Record<string, FakeDevice>;

const case2 = {
  nodeENI: 'user-plane-sriov-eni',
  eniId: 'eni-0000000000000000a',
  macAddress: DEV.kernel.mac,
  deviceIndex: 3,
  mtu: 9001,
  resourceName: 'intel.com/sriov_kernel',
};
const case3 = {
  nodeENI: 'dpdk-user-plane-eni',
  eniId: 'eni-0000000000000000b',
  macAddress: DEV.dpdk.mac,
  deviceIndex: 4,
  mtu: 9000,
  dpdk: { driver: 'vfio-pci', pciAddress: '0000:00:08.0' },
  resourceName: 'intel.com/intel_sriov_netdevice',
};
const release3 = { nodeENI: case3.nodeENI, eniId: case3.eniId, macAddress: case3.macAddress, dpdk: case3.dpdk, resourceName: case3.resourceName };
const release2 = { nodeENI: case2.nodeENI, eniId: case2.eniId, macAddress: case2.macAddress, resourceName: case2.resourceName };

// Someone else's resource that must survive every edit.
const FOREIGN = { resourceName: 'mellanox_rdma', resourcePrefix: 'example.org', isRdma: true, selectors: [{ vendors: ['15b3'], devices: ['1018'] }] };

const ns = new TestNetns();
let dir: string;
let kernel: FakeKernel;
let agent: NodeAgentActivities;
let restartReasons: string[];
let failNextRestart = false;
const configPath = () => path.join(dir, 'etc', 'pcidp', 'config.json');
const stateDir = () => path.join(dir, 'state');
const readConfig = () => JSON.parse(fs.readFileSync(configPath(), 'utf8')) as unknown;

const act = <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> => runActivity(activityEnv(), fn, ...args);

async function failureOf(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApplicationFailure) return err;
    throw err;
  }
  throw new Error('expected the activity to fail');
}

/** Writes made by the agent since `from`. */
const writesSince = (from: number) => kernel.writes.slice(from);

beforeAll(async () => {
  await ns.create();
  dir = tempDir('mneni-dpdk-');
  kernel = new FakeKernel(path.join(dir, 'sys'), ns, Object.values(DEV), ['ena', 'vfio-pci']);
  await kernel.plugAll();
  fs.mkdirSync(path.dirname(configPath()), { recursive: true });
  fs.writeFileSync(configPath(), JSON.stringify({ resourceList: [FOREIGN] }));
  restartReasons = [];
  agent = createNodeAgentActivities({
    nodeName: 'node-dpdk',
    netns: ns.name,
    sysRoot: kernel.root,
    stateDir: stateDir(),
    pcidpConfigPath: configPath(),
    onSysfsWrite: kernel.onWrite,
    linkPollMs: 100,
    restartDevicePlugin: async (reason) => {
      if (failNextRestart) {
        failNextRestart = false;
        throw new Error('apiserver unavailable');
      }
      restartReasons.push(reason);
    },
  });
});

afterAll(async () => {
  await ns.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('SR-IOV kernel-driver case (seed case 2)', () => {
  test('lists the device with its kernel driver, restarts the plugin once, brings the link up', async () => {
    const result = await act(agent.configureInterface, case2);
    expect(result).toEqual({ interfaceName: 'ens7', pciAddress: '0000:00:07.0', mtu: 9001, state: 'up', dpdkBound: false, sriovConfigChanged: true });
    expect(readConfig()).toEqual({
      resourceList: [
        FOREIGN,
        { resourcePrefix: 'intel.com', resourceName: 'sriov_kernel', selectors: [{ drivers: ['ena'], pciAddresses: ['0000:00:07.0'] }] },
      ],
    });
    expect(restartReasons).toHaveLength(1);
    expect(kernel.writes).toEqual([]); // a kernel-driver device needs no sysfs writes
    const link = await ns.link('ens7');
    expect(link?.mtu).toBe(9001);
    expect(isUp(link)).toBe(true);
  });

  test('a repeat changes nothing and does not restart the plugin', async () => {
    const before = fs.readFileSync(configPath(), 'utf8');
    const mtime = fs.statSync(configPath()).mtimeMs;
    const result = await act(agent.configureInterface, case2);
    expect(result.sriovConfigChanged).toBe(false);
    expect(fs.readFileSync(configPath(), 'utf8')).toBe(before);
    expect(fs.statSync(configPath()).mtimeMs).toBe(mtime);
    expect(restartReasons).toHaveLength(1);
    // Written atomically: no temporary files left next to it.
    expect(fs.readdirSync(path.dirname(configPath()))).toEqual(['config.json']);
  });
});

describe('DPDK case (seed case 3)', () => {
  test('binds: unbind the original driver, then driver_override, then bind vfio-pci; verified and recorded', async () => {
    const from = kernel.writes.length;
    const result = await act(agent.configureInterface, case3);
    expect(writesSince(from)).toEqual([
      { path: 'bus/pci/drivers/ena/unbind', value: '0000:00:08.0' },
      { path: 'bus/pci/devices/0000:00:08.0/driver_override', value: 'vfio-pci' },
      { path: 'bus/pci/drivers/vfio-pci/bind', value: '0000:00:08.0' },
    ]);
    expect(result).toEqual({
      interfaceName: 'ens8',
      pciAddress: '0000:00:08.0',
      state: 'dpdk',
      dpdkBound: true,
      dpdkDriver: 'vfio-pci',
      originalDriver: 'ena',
      sriovConfigChanged: true,
    });
    expect(kernel.driverOf('0000:00:08.0')).toBe('vfio-pci');
    expect(await ns.link('ens8')).toBeUndefined(); // the kernel link is gone with the kernel driver
    const record = JSON.parse(fs.readFileSync(path.join(stateDir(), 'dpdk-0e-20-00-00-00-08.json'), 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ macAddress: DEV.dpdk.mac, pciAddress: '0000:00:08.0', originalDriver: 'ena', driver: 'vfio-pci', interfaceName: 'ens8' });
    expect(readConfig()).toEqual({
      resourceList: [
        FOREIGN,
        { resourcePrefix: 'intel.com', resourceName: 'sriov_kernel', selectors: [{ drivers: ['ena'], pciAddresses: ['0000:00:07.0'] }] },
        { resourcePrefix: 'intel.com', resourceName: 'intel_sriov_netdevice', selectors: [{ drivers: ['vfio-pci'], pciAddresses: ['0000:00:08.0'] }] },
      ],
    });
    expect(restartReasons).toHaveLength(2);
  });

  test('a repeat (the link is gone now) succeeds from the record without any write or restart', async () => {
    const from = kernel.writes.length;
    const result = await act(agent.configureInterface, { ...case3, linkWaitSeconds: 1 });
    expect(writesSince(from)).toEqual([]);
    expect(result).toMatchObject({ state: 'dpdk', dpdkBound: true, pciAddress: '0000:00:08.0', originalDriver: 'ena', interfaceName: 'ens8', sriovConfigChanged: false });
    expect(restartReasons).toHaveLength(2);
  });

  test('release gives the device back to its original driver, removes its entry, and leaves the link down', async () => {
    const from = kernel.writes.length;
    const result = await act(agent.releaseInterface, release3);
    expect(writesSince(from)).toEqual([
      { path: 'bus/pci/drivers/vfio-pci/unbind', value: '0000:00:08.0' },
      { path: 'bus/pci/devices/0000:00:08.0/driver_override', value: '\n' },
      { path: 'bus/pci/drivers/ena/bind', value: '0000:00:08.0' },
    ]);
    expect(result).toEqual({ changed: true, interfaceName: 'ens8', restoredDriver: 'ena' });
    expect(kernel.driverOf('0000:00:08.0')).toBe('ena');
    expect(kernel.override('0000:00:08.0')).toBeUndefined();
    const link = await ns.link('ens8');
    expect(link?.address).toBe(DEV.dpdk.mac);
    expect(isUp(link)).toBe(false);
    expect(readConfig()).toEqual({
      resourceList: [FOREIGN, { resourcePrefix: 'intel.com', resourceName: 'sriov_kernel', selectors: [{ drivers: ['ena'], pciAddresses: ['0000:00:07.0'] }] }],
    });
    expect(restartReasons).toHaveLength(3);
    expect(fs.existsSync(path.join(stateDir(), 'dpdk-0e-20-00-00-00-08.json'))).toBe(false);
  });

  test('a second release has nothing to do: no writes, no restart', async () => {
    const from = kernel.writes.length;
    expect(await act(agent.releaseInterface, release3)).toEqual({ changed: false, interfaceName: 'ens8' });
    expect(writesSince(from)).toEqual([]);
    expect(restartReasons).toHaveLength(3);
  });

  test('the kernel-driver case releases too: entry removed, link down, no sysfs writes', async () => {
    const from = kernel.writes.length;
    expect(await act(agent.releaseInterface, release2)).toEqual({ changed: true, interfaceName: 'ens7' });
    expect(writesSince(from)).toEqual([]);
    expect(readConfig()).toEqual({ resourceList: [FOREIGN] });
    expect(isUp(await ns.link('ens7'))).toBe(false);
    expect(restartReasons).toHaveLength(4);
  });
});

describe('crash safety and failures', () => {
  test('a bind cut short after the unbind is finished from the record', async () => {
    // As a crash would leave it: record written, original driver unbound, nothing else done.
    fs.mkdirSync(stateDir(), { recursive: true });
    fs.writeFileSync(
      path.join(stateDir(), 'dpdk-0e-20-00-00-00-08.json'),
      JSON.stringify({ macAddress: DEV.dpdk.mac, eniId: case3.eniId, nodeENI: case3.nodeENI, pciAddress: '0000:00:08.0', originalDriver: 'ena', driver: 'vfio-pci', interfaceName: 'ens8', updatedAt: 'x' }),
    );
    await kernel.onWrite('bus/pci/drivers/ena/unbind', '0000:00:08.0');
    const from = kernel.writes.length;
    const result = await act(agent.configureInterface, { ...case3, linkWaitSeconds: 1 });
    expect(writesSince(from)).toEqual([
      { path: 'bus/pci/devices/0000:00:08.0/driver_override', value: 'vfio-pci' },
      { path: 'bus/pci/drivers/vfio-pci/bind', value: '0000:00:08.0' },
    ]);
    expect(result).toMatchObject({ state: 'dpdk', originalDriver: 'ena' });
    // Released afterwards, the device still goes back to ena (the record kept the original driver).
    await act(agent.releaseInterface, release3);
    expect(kernel.driverOf('0000:00:08.0')).toBe('ena');
  });

  test('a failed bind is rolled back to the original driver and reported as non-retryable', async () => {
    kernel.failingBinds.add('vfio-pci');
    try {
      const from = kernel.writes.length;
      const configBefore = fs.readFileSync(configPath(), 'utf8');
      const f = await failureOf(act(agent.configureInterface, case3));
      expect(f.type).toBe(NODE_AGENT_ERRORS.deviceRefused);
      expect(f.nonRetryable).toBe(true);
      expect(f.message).toMatch(/^binding PCI device 0000:00:08.0 to vfio-pci failed: .*EINVAL.*\(rolled back to ena\)$/);
      expect(writesSince(from)).toEqual([
        { path: 'bus/pci/drivers/ena/unbind', value: '0000:00:08.0' },
        { path: 'bus/pci/devices/0000:00:08.0/driver_override', value: 'vfio-pci' },
        { path: 'bus/pci/drivers/vfio-pci/bind', value: '0000:00:08.0' },
        { path: 'bus/pci/devices/0000:00:08.0/driver_override', value: '\n' },
        { path: 'bus/pci/drivers/ena/bind', value: '0000:00:08.0' },
      ]);
      expect(kernel.driverOf('0000:00:08.0')).toBe('ena');
      expect((await ns.link('ens8'))?.address).toBe(DEV.dpdk.mac);
      expect(fs.existsSync(path.join(stateDir(), 'dpdk-0e-20-00-00-00-08.json'))).toBe(false);
      expect(fs.readFileSync(configPath(), 'utf8')).toBe(configBefore);
    } finally {
      kernel.failingBinds.delete('vfio-pci');
    }
  });

  test('a restart that fails after the config was written happens on the next attempt, even though the file is unchanged', async () => {
    const spare = { nodeENI: 'spare', eniId: 'eni-0000000000000000c', macAddress: DEV.spare.mac, deviceIndex: 5, resourceName: 'sriov_spare' };
    const restartsBefore = restartReasons.length;
    failNextRestart = true;
    await expect(act(agent.configureInterface, spare)).rejects.toThrow(/apiserver unavailable/);
    expect(restartReasons).toHaveLength(restartsBefore);
    const written = fs.readFileSync(configPath(), 'utf8');
    expect(JSON.parse(written)).toMatchObject({ resourceList: [FOREIGN, { resourcePrefix: 'intel.com', resourceName: 'sriov_spare' }] });
    const retry = await act(agent.configureInterface, spare);
    expect(retry.sriovConfigChanged).toBe(true);
    expect(restartReasons).toHaveLength(restartsBefore + 1);
    expect(fs.readFileSync(configPath(), 'utf8')).toBe(written);
    // And then nothing more.
    expect((await act(agent.configureInterface, spare)).sriovConfigChanged).toBe(false);
    expect(restartReasons).toHaveLength(restartsBefore + 1);
    await act(agent.releaseInterface, { nodeENI: 'spare', eniId: spare.eniId, macAddress: spare.macAddress });
    expect(readConfig()).toEqual({ resourceList: [FOREIGN] });
  });

  test('bad input is refused before any write, naming the field', async () => {
    const from = kernel.writes.length;
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ dpdk: { driver: 'mlx5_core' } }, /^dpdk\.driver: unknown DPDK driver "mlx5_core"/],
      [{ dpdk: { driver: 'vfio-pci', pciAddress: '0000:00:8.0' } }, /^dpdk\.pciAddress: "0000:00:8.0" is not a PCI address/],
      [{ dpdk: { driver: 'vfio-pci', pciAddress: '0000:00:07.0' } }, /^spec\.dpdkPCIAddress: 0000:00:07.0 is not the device of MAC 0e:20:00:00:00:08: link ens8 is PCI device 0000:00:08.0$/],
      [{ resourceName: 'intel.com/sriov-dpdk' }, /^resourceName: name "sriov-dpdk"/],
      [{ macAddress: '0e:20:00:00:00' }, /^macAddress: /],
    ];
    for (const [change, message] of cases) {
      const f = await failureOf(act(agent.configureInterface, { ...case3, ...change }));
      expect(f.type).toBe(NODE_AGENT_ERRORS.badInput);
      expect(f.nonRetryable).toBe(true);
      expect(f.message).toMatch(message);
    }
    expect(writesSince(from)).toEqual([]);
    expect(kernel.driverOf('0000:00:07.0')).toBe('ena');
    expect(kernel.driverOf('0000:00:08.0')).toBe('ena');
  });

  test('a DPDK driver that is not loaded on the node is refused before any write', async () => {
    const from = kernel.writes.length;
    const f = await failureOf(act(agent.configureInterface, { ...case3, dpdk: { driver: 'igb_uio' } }));
    expect(f.type).toBe(NODE_AGENT_ERRORS.deviceRefused);
    expect(f.message).toMatch(/^dpdk\.driver: igb_uio is not loaded on node node-dpdk/);
    expect(writesSince(from)).toEqual([]);
  });

  test('switching a NodeENI from DPDK back to the kernel driver returns the device first', async () => {
    await act(agent.configureInterface, { ...case3, resourceName: undefined });
    expect(kernel.driverOf('0000:00:08.0')).toBe('vfio-pci');
    const from = kernel.writes.length;
    const result = await act(agent.configureInterface, { ...case3, dpdk: undefined, resourceName: undefined, mtu: 9001 });
    expect(writesSince(from).map((w) => w.path)).toEqual([
      'bus/pci/drivers/vfio-pci/unbind',
      'bus/pci/devices/0000:00:08.0/driver_override',
      'bus/pci/drivers/ena/bind',
    ]);
    expect(result).toMatchObject({ interfaceName: 'ens8', state: 'up', dpdkBound: false, mtu: 9001, pciAddress: '0000:00:08.0' });
    expect(isUp(await ns.link('ens8'))).toBe(true);
  });
});
