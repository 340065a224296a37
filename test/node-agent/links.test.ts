// The node agent on real Linux links: veth interfaces in a network namespace this test creates, driven
// through iproute2 exactly as on a node. Activities run in MockActivityEnvironment (heartbeats, cancel).
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { NODE_AGENT_ERRORS, type NodeAgentActivities } from '../../common/node-agent-contract.js';
import { createNodeAgentActivities } from '../../node-agent/activities.js';
import { activityEnv, runActivity } from './support/activity.js';
import { startFakeImds } from './support/fake-imds.js';
import { ImdsClient } from '../../node-agent/imds.js';
import { isUp, loggingIp, tempDir, TestNetns } from '../../dev/stack/sim/netns.js';

const ENI = 'eni-0123456789abcdef0';
const MAC = { primary: '0e:10:00:00:00:05', a: '0e:10:00:00:00:06', b: '0e:10:00:00:00:07', late: '0e:10:00:00:00:09', vlan: '0e:10:00:00:00:0a', dup: '0e:10:00:00:00:0b' };
const base = { nodeENI: 'multus-test', eniId: ENI, deviceIndex: 1 };

const ns = new TestNetns();
let dir: string;
let ip: ReturnType<typeof loggingIp>;
let agent: NodeAgentActivities;
let restarts = 0;

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

const setCommands = () => ip.calls().filter((c) => c.includes('link set'));

beforeAll(async () => {
  await ns.create();
  dir = tempDir('mneni-links-');
  // An empty sysfs tree: veth links have no PCI device, as virtual links on a node would not.
  fs.mkdirSync(path.join(dir, 'sys'));
  ip = loggingIp(dir);
  await ns.addLink('ens5', MAC.primary);
  await ns.addLink('ens6', MAC.a);
  await ns.addLink('ens7', MAC.b);
  agent = createNodeAgentActivities({
    nodeName: 'node-links',
    netns: ns.name,
    sysRoot: path.join(dir, 'sys'),
    stateDir: path.join(dir, 'state'),
    pcidpConfigPath: path.join(dir, 'pcidp', 'config.json'),
    ipPath: ip.path,
    linkPollMs: 200,
    restartDevicePlugin: async () => {
      restarts++;
    },
  });
});

afterAll(async () => {
  await ns.destroy();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('node agent on real links', () => {
  test('configure finds the link by MAC among several, sets the MTU, then brings it up', async () => {
    const result = await act(agent.configureInterface, { ...base, macAddress: MAC.a.toUpperCase(), mtu: 9001 });
    expect(result).toEqual({ interfaceName: 'ens6', mtu: 9001, state: 'up', dpdkBound: false, sriovConfigChanged: false });
    const link = await ns.link('ens6');
    expect(link?.mtu).toBe(9001);
    expect(isUp(link)).toBe(true);
    // The others are untouched.
    for (const other of ['ens5', 'ens7']) {
      const l = await ns.link(other);
      expect(l?.mtu).toBe(1500);
      expect(isUp(l)).toBe(false);
    }
    // MTU first, then up (a refused MTU must never leave an up link with the wrong MTU).
    expect(setCommands()).toEqual([`-n ${ns.name} link set dev ens6 mtu 9001`, `-n ${ns.name} link set dev ens6 up`]);
    expect(restarts).toBe(0);
  });

  test('a repeat is a no-op: no link changes', async () => {
    const before = setCommands().length;
    const result = await act(agent.configureInterface, { ...base, macAddress: MAC.a, mtu: 9001 });
    expect(result).toMatchObject({ interfaceName: 'ens6', mtu: 9001, state: 'up' });
    expect(setCommands()).toHaveLength(before);
  });

  test('mtu 0 leaves the MTU alone and only brings the link up', async () => {
    const result = await act(agent.configureInterface, { ...base, macAddress: MAC.b, mtu: 0 });
    expect(result).toMatchObject({ interfaceName: 'ens7', mtu: 1500, state: 'up' });
    expect(setCommands().at(-1)).toBe(`-n ${ns.name} link set dev ens7 up`);
    expect(setCommands().filter((c) => c.includes('ens7 mtu'))).toEqual([]);
  });

  test('waits, heartbeating, for a link that is hot-plugged a few seconds later', async () => {
    const e = activityEnv();
    const heartbeats: unknown[] = [];
    e.on('heartbeat', (d: unknown) => heartbeats.push(d));
    const started = Date.now();
    const pending = runActivity(e, agent.configureInterface, { ...base, macAddress: MAC.late, mtu: 1400, linkWaitSeconds: 30 });
    const plug = new Promise<void>((resolve, reject) =>
      setTimeout(() => {
        ns.addLink('ens9', MAC.late).then(resolve, reject);
      }, 2500),
    );
    const [result] = await Promise.all([pending, plug]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2500);
    expect(result).toMatchObject({ interfaceName: 'ens9', mtu: 1400, state: 'up' });
    expect(heartbeats.length).toBeGreaterThanOrEqual(5);
    expect(heartbeats[0]).toMatchObject({ waitingForMac: MAC.late });
    const link = await ns.link('ens9');
    expect(link?.mtu).toBe(1400);
    expect(isUp(link)).toBe(true);
  });

  test('a MAC that never appears fails, non-retryable, after the wait', async () => {
    const started = Date.now();
    const f = await failureOf(act(agent.configureInterface, { ...base, macAddress: '0e:10:00:00:00:99', linkWaitSeconds: 1 }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(f.type).toBe(NODE_AGENT_ERRORS.linkNotFound);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toBe(`macAddress: no link with MAC 0e:10:00:00:00:99 appeared within 1s on node node-links (ENI ${ENI})`);
  });

  test('cancellation ends the wait', async () => {
    const e = activityEnv();
    const pending = runActivity(e, agent.configureInterface, { ...base, macAddress: '0e:10:00:00:00:98', linkWaitSeconds: 60 });
    setTimeout(() => e.cancel(), 500);
    const started = Date.now();
    await expect(pending).rejects.toBeInstanceOf(CancelledFailure);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('an MTU the device refuses is a non-retryable failure and leaves the link as it was', async () => {
    // A macvlan cannot exceed its lower device's MTU: the kernel refuses, as ENA refuses MTUs past its limit.
    await ns.addLink('low0', '0e:10:00:00:00:0c');
    await ns.ip(['link', 'add', 'ens10', 'link', 'low0', 'address', MAC.vlan, 'type', 'macvlan']);
    const before = await ns.link('ens10');
    expect(isUp(before)).toBe(false);
    const f = await failureOf(act(agent.configureInterface, { ...base, macAddress: MAC.vlan, mtu: 9001 }));
    expect(f.type).toBe(NODE_AGENT_ERRORS.deviceRefused);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toMatch(/^mtu: setting MTU 9001 on ens10 \(MAC 0e:10:00:00:00:0a, eni-0123456789abcdef0\) refused by the device: /);
    const after = await ns.link('ens10');
    expect(after?.mtu).toBe(before?.mtu);
    expect(isUp(after)).toBe(false);
    expect(setCommands().filter((c) => c.includes('ens10 up'))).toEqual([]);
  });

  test('MTUs outside the kernel range are rejected as input before any change', async () => {
    const before = setCommands().length;
    for (const mtu of [60, 70000]) {
      const f = await failureOf(act(agent.configureInterface, { ...base, macAddress: MAC.primary, mtu }));
      expect(f.type).toBe(NODE_AGENT_ERRORS.badInput);
      expect(f.nonRetryable).toBe(true);
      expect(f.message).toMatch(/^mtu: \d+ is not a valid MTU/);
    }
    expect(setCommands()).toHaveLength(before);
    expect(isUp(await ns.link('ens5'))).toBe(false);
  });

  test('malformed MAC is rejected naming the field', async () => {
    const f = await failureOf(act(agent.configureInterface, { ...base, macAddress: 'ens5' }));
    expect(f.type).toBe(NODE_AGENT_ERRORS.badInput);
    expect(f.message).toMatch(/^macAddress: "ens5" is not a MAC address/);
  });

  test('two links with the same MAC are never guessed between', async () => {
    await ns.addLink('dupa', MAC.dup);
    await ns.addLink('dupb', MAC.dup);
    const f = await failureOf(act(agent.configureInterface, { ...base, macAddress: MAC.dup }));
    expect(f.type).toBe(NODE_AGENT_ERRORS.badInput);
    expect(f.message).toMatch(/several links \(dupa, dupb\)/);
    expect(isUp(await ns.link('dupa'))).toBe(false);
    expect(isUp(await ns.link('dupb'))).toBe(false);
  });

  test('release sets the link down; a second release has nothing to do', async () => {
    const first = await act(agent.releaseInterface, { nodeENI: 'multus-test', eniId: ENI, macAddress: MAC.a });
    expect(first).toEqual({ changed: true, interfaceName: 'ens6' });
    expect(isUp(await ns.link('ens6'))).toBe(false);
    const second = await act(agent.releaseInterface, { nodeENI: 'multus-test', eniId: ENI, macAddress: MAC.a });
    expect(second).toEqual({ changed: false, interfaceName: 'ens6' });
    // A link that is already gone (ENI detached) is nothing to do either.
    const gone = await act(agent.releaseInterface, { nodeENI: 'multus-test', eniId: ENI, macAddress: '0e:10:00:00:00:97' });
    expect(gone).toEqual({ changed: false });
    expect(restarts).toBe(0);
  });
});

describe('checking the link against instance metadata (IMDSv2)', () => {
  const ENI_B = 'eni-0bbbbbbbbbbbbbbb7';
  const metadata: Record<string, string> = { [`/latest/meta-data/network/interfaces/macs/${MAC.b}/interface-id`]: ENI_B };
  let imds: Awaited<ReturnType<typeof startFakeImds>>;
  let checked: NodeAgentActivities;

  beforeAll(async () => {
    imds = await startFakeImds(metadata);
    checked = createNodeAgentActivities({
      nodeName: 'node-links',
      netns: ns.name,
      sysRoot: path.join(dir, 'sys'),
      stateDir: path.join(dir, 'state'),
      pcidpConfigPath: path.join(dir, 'pcidp', 'config.json'),
      imds: new ImdsClient({ endpoint: imds.url, timeoutMs: 1000 }),
      linkPollMs: 200,
      restartDevicePlugin: async () => undefined,
    });
  });
  afterAll(async () => {
    await imds.close();
  });

  test('the ENI that IMDS maps the MAC to is accepted', async () => {
    expect(await act(checked.configureInterface, { ...base, eniId: ENI_B, macAddress: MAC.b })).toMatchObject({ interfaceName: 'ens7', state: 'up' });
    // IMDSv2 only: a token first, and every read carries it.
    expect(imds.seen[0]).toMatchObject({ method: 'PUT', url: '/latest/api/token' });
    expect(imds.seen.filter((r) => r.method === 'GET' && !r.token)).toEqual([]);
  });

  test('a MAC that belongs to another ENI is refused without touching the link', async () => {
    const before = setCommands().length;
    const f = await failureOf(act(checked.configureInterface, { ...base, eniId: 'eni-0ccccccccccccccc1', macAddress: MAC.b, mtu: 1400 }));
    expect(f.type).toBe(NODE_AGENT_ERRORS.badInput);
    expect(f.message).toBe(`eniId: link ens7 has MAC ${MAC.b}, which instance metadata maps to ${ENI_B}, not eni-0ccccccccccccccc1`);
    expect(setCommands()).toHaveLength(before);
  });

  test('a link IMDS does not list yet is waited for until it does', async () => {
    const eni = 'eni-0ddddddddddddddd1';
    setTimeout(() => {
      metadata[`/latest/meta-data/network/interfaces/macs/${MAC.primary}/interface-id`] = eni;
    }, 1000);
    const started = Date.now();
    expect(await act(checked.configureInterface, { ...base, eniId: eni, macAddress: MAC.primary, linkWaitSeconds: 10 })).toMatchObject({ interfaceName: 'ens5', state: 'up' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });
});
