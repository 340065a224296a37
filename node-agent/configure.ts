// configureInterface: find the ENI's link by MAC (waiting for hot-plug), then either MTU + up (kernel) or a
// DPDK bind, and keep the SR-IOV device plugin config in step. Every step checks the current state first,
// so a repeat, or a retry after a crash at any point, converges without redoing what is done.
import type { ConfigureInterfaceInput, ConfigureInterfaceResult } from '../common/node-agent-contract.js';
import { bindDriver, restoreDriver } from './dpdk.js';
import { badInput, deviceRefused, linkNotFound } from './errors.js';
import { ipFailure, type AgentHost } from './host.js';
import type { LinkInfo } from './ip-link.js';
import type { DeviceRecord } from './state.js';
import { isDpdkDriver, validateConfigureInput, type ConfigureSpec, type DpdkSpec } from './validate.js';

type Who = { nodeENI: string; eniId: string; macAddress: string };

function who(spec: ConfigureSpec): Who {
  return { nodeENI: spec.nodeENI, eniId: spec.eniId, macAddress: spec.mac };
}

/** Polls for the link carrying the MAC (hot-plug takes seconds), heartbeating; cancellable through the sleep. */
export async function waitForLink(host: AgentHost, spec: { eniId: string; mac: string; linkWaitSeconds: number }): Promise<LinkInfo> {
  const started = Date.now();
  const deadline = started + spec.linkWaitSeconds * 1000;
  let imdsUnlisted: string | undefined;
  for (let round = 0; ; round++) {
    const sel = await host.links.findByMac(spec.mac);
    if (sel.kind === 'ambiguous') {
      throw badInput('macAddress', `${spec.mac} is carried by several links (${sel.links.map((l) => l.name).join(', ')}); cannot tell which one is ${spec.eniId}`);
    }
    if (sel.kind === 'found') {
      if (!host.imds) return sel.link;
      const eni = await host.imds.eniIdForMac(spec.mac);
      if (eni === spec.eniId) return sel.link;
      if (eni !== undefined) {
        throw badInput('eniId', `link ${sel.link.name} has MAC ${spec.mac}, which instance metadata maps to ${eni}, not ${spec.eniId}`);
      }
      // IMDS can list a new ENI a little after the link appears: keep waiting within the same budget.
      imdsUnlisted = sel.link.name;
    }
    const now = Date.now();
    if (now >= deadline) {
      const why = imdsUnlisted
        ? `link ${imdsUnlisted} has MAC ${spec.mac} but instance metadata does not list that MAC`
        : `no link with MAC ${spec.mac} appeared`;
      throw linkNotFound(`macAddress: ${why} within ${spec.linkWaitSeconds}s on node ${host.nodeName} (ENI ${spec.eniId})`);
    }
    if (round === 0) host.info('waiting for link', { eniId: spec.eniId, macAddress: spec.mac, action: 'wait', waitSeconds: spec.linkWaitSeconds });
    host.heartbeat({ waitingForMac: spec.mac, waitedMs: now - started });
    await host.sleep(Math.min(host.linkPollMs, deadline - now));
  }
}

async function putRecord(host: AgentHost, record: Omit<DeviceRecord, 'updatedAt'>): Promise<void> {
  const old = await host.state.get(record.macAddress);
  if (old) {
    const { updatedAt: _u, ...rest } = old;
    if (JSON.stringify(rest) === JSON.stringify(record)) return;
  }
  await host.state.put({ ...record, updatedAt: new Date().toISOString() });
}

async function syncSriov(host: AgentHost, spec: ConfigureSpec, pci: string, driver: string): Promise<boolean> {
  const r = await host.sriov.sync(pci, spec.resource ? { ...spec.resource, driver } : undefined);
  if (r.changed || r.restarted) {
    host.info('SR-IOV device plugin config updated', {
      ...who(spec),
      pciAddress: pci,
      resourceName: spec.resource ? `${spec.resource.prefix}/${spec.resource.name}` : undefined,
      driver,
      action: spec.resource ? 'sriov-add' : 'sriov-remove',
      restarted: r.restarted,
    });
  }
  return r.restarted;
}

async function ensureDriverLoaded(host: AgentHost, driver: string): Promise<void> {
  if (!(await host.sysfs.driverLoaded(driver))) {
    throw deviceRefused(`dpdk.driver: ${driver} is not loaded on node ${host.nodeName} (no ${host.sysfs.abs(`bus/pci/drivers/${driver}`)}); load its kernel module first`);
  }
}

/** Binds and records; shared by the path with a kernel link and the path where the link is already gone. */
async function bindDpdk(
  host: AgentHost,
  spec: ConfigureSpec,
  dpdk: DpdkSpec,
  pci: string,
  interfaceName: string | undefined,
): Promise<ConfigureInterfaceResult> {
  await ensureDriverLoaded(host, dpdk.driver);
  return host.lock.run(async () => {
    const current = await host.sysfs.driverOf(pci);
    const previous = await host.state.get(spec.mac);
    // The original is the kernel driver: the current one unless the device is already on DPDK.
    const original = current && !isDpdkDriver(current) ? current : previous?.originalDriver;
    const name = interfaceName ?? previous?.interfaceName;
    // Recorded before the unbind: afterwards the link, and the way to find the device by MAC, are gone.
    await putRecord(host, {
      macAddress: spec.mac,
      eniId: spec.eniId,
      nodeENI: spec.nodeENI,
      pciAddress: pci,
      driver: dpdk.driver,
      ...(original ? { originalDriver: original } : {}),
      ...(name ? { interfaceName: name } : {}),
    });
    try {
      const r = await bindDriver(host.sysfs, pci, dpdk.driver, original);
      host.info(r.changed ? 'bound to DPDK driver' : 'already bound to DPDK driver', {
        ...who(spec),
        interfaceName: name,
        pciAddress: pci,
        driver: dpdk.driver,
        previousDriver: r.previousDriver,
        action: 'dpdk-bind',
      });
    } catch (err) {
      // A failed bind was rolled back: the device is a kernel device again and the record would mislead.
      if (original && (await host.sysfs.driverOf(pci)) === original) await host.state.delete(spec.mac);
      throw err;
    }
    const restarted = await syncSriov(host, spec, pci, dpdk.driver);
    const result: ConfigureInterfaceResult = { pciAddress: pci, state: 'dpdk', dpdkBound: true, dpdkDriver: dpdk.driver, sriovConfigChanged: restarted };
    if (name) result.interfaceName = name;
    if (original) result.originalDriver = original;
    return result;
  });
}

/**
 * A DPDK request whose device has no kernel link any more (bound earlier, or a crash mid-bind): finish from
 * the record or the given PCI address. Undefined when the link path must be taken.
 */
async function dpdkWithoutLink(host: AgentHost, spec: ConfigureSpec, dpdk: DpdkSpec): Promise<ConfigureInterfaceResult | undefined> {
  const record = await host.state.get(spec.mac);
  if (record && dpdk.pciAddress && record.pciAddress !== dpdk.pciAddress) {
    throw badInput('spec.dpdkPCIAddress', `${dpdk.pciAddress} differs from ${record.pciAddress}, the device this agent bound for MAC ${spec.mac}`);
  }
  const pci = record?.pciAddress ?? dpdk.pciAddress;
  if (!pci || !(await host.sysfs.pciDeviceExists(pci))) return undefined; // not hot-plugged yet: wait for it
  const current = await host.sysfs.driverOf(pci);
  if (current !== undefined && !isDpdkDriver(current)) return undefined; // a kernel device: verify its MAC first
  if (current === undefined && !record) return undefined; // not probed yet
  return bindDpdk(host, spec, dpdk, pci, undefined);
}

/** A kernel configuration was asked for a device this agent had bound to DPDK: give it back first. */
async function leaveDpdk(host: AgentHost, spec: ConfigureSpec): Promise<void> {
  const record = await host.state.get(spec.mac);
  if (!record) return;
  await host.lock.run(async () => {
    if (await host.sysfs.pciDeviceExists(record.pciAddress)) {
      const current = await host.sysfs.driverOf(record.pciAddress);
      if (current === undefined || isDpdkDriver(current)) {
        const r = await restoreDriver(host.sysfs, record.pciAddress, record.originalDriver);
        host.info('returned device from DPDK to the kernel', { ...who(spec), pciAddress: record.pciAddress, driver: r.driver, action: 'dpdk-unbind' });
      }
    }
    await host.state.delete(spec.mac);
  });
}

async function configureKernel(host: AgentHost, spec: ConfigureSpec, found: LinkInfo, pci: string | undefined): Promise<ConfigureInterfaceResult> {
  if (spec.resource && !pci) {
    throw badInput('resourceName', `link ${found.name} with MAC ${spec.mac} has no PCI device, so the SR-IOV device plugin cannot advertise it`);
  }
  const driver = pci ? await host.sysfs.driverOf(pci) : undefined;
  if (spec.resource && !driver) throw badInput('resourceName', `PCI device ${pci} of link ${found.name} has no driver to advertise`);
  return host.lock.run(async () => {
    const name = found.name;
    const link = (await host.links.get(name)) ?? found;
    const ids = { ...who(spec), interfaceName: name };
    let mtuChangedFrom: number | undefined;
    // MTU before up, and no up when the MTU is refused: the link is never left half-configured.
    if (spec.mtu !== undefined && link.mtu !== spec.mtu) {
      try {
        await host.links.setMtu(name, spec.mtu);
      } catch (err) {
        throw ipFailure(err, `mtu: setting MTU ${spec.mtu} on ${name} (MAC ${spec.mac}, ${spec.eniId})`);
      }
      mtuChangedFrom = link.mtu;
      host.info('set MTU', { ...ids, mtu: spec.mtu, previousMtu: link.mtu, action: 'mtu' });
    }
    if (!link.adminUp) {
      try {
        await host.links.setUp(name);
      } catch (err) {
        if (mtuChangedFrom !== undefined) await host.links.setMtu(name, mtuChangedFrom).catch(() => undefined);
        throw ipFailure(err, `bringing ${name} up (MAC ${spec.mac}, ${spec.eniId})`);
      }
      host.info('link up', { ...ids, action: 'up' });
    }
    const after = (await host.links.get(name)) ?? link;
    const restarted = pci && driver ? await syncSriov(host, spec, pci, driver) : false;
    const result: ConfigureInterfaceResult = { interfaceName: name, mtu: after.mtu, state: 'up', dpdkBound: false, sriovConfigChanged: restarted };
    if (pci) result.pciAddress = pci;
    return result;
  });
}

export async function configureInterface(host: AgentHost, input: ConfigureInterfaceInput): Promise<ConfigureInterfaceResult> {
  const spec = validateConfigureInput(input, host.defaultLinkWaitSeconds);
  host.info('configure interface', { ...who(spec), mtu: spec.mtu, dpdk: spec.dpdk?.driver, action: 'configure' });
  if (spec.dpdk) {
    const done = await dpdkWithoutLink(host, spec, spec.dpdk);
    if (done) return done;
  } else {
    await leaveDpdk(host, spec);
  }
  const link = await waitForLink(host, spec);
  const pci = await host.sysfs.pciAddressOfInterface(link.name);
  host.info('found link', { ...who(spec), interfaceName: link.name, pciAddress: pci, action: 'find' });
  if (!spec.dpdk) return configureKernel(host, spec, link, pci);
  if (!pci) {
    throw badInput('dpdk', `link ${link.name} with MAC ${spec.mac} has no PCI device (${host.sysfs.abs(`class/net/${link.name}/device`)}); only a PCI device can be bound to ${spec.dpdk.driver}`);
  }
  if (spec.dpdk.pciAddress && spec.dpdk.pciAddress !== pci) {
    throw badInput('spec.dpdkPCIAddress', `${spec.dpdk.pciAddress} is not the device of MAC ${spec.mac}: link ${link.name} is PCI device ${pci}`);
  }
  return bindDpdk(host, spec, spec.dpdk, pci, link.name);
}
