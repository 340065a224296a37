// releaseInterface: stop advertising the device, give it back from DPDK to its original kernel driver, and
// set the link down. Runs before the ENI is detached; nothing left to do is success (changed: false).
import type { ReleaseInterfaceInput, ReleaseInterfaceResult } from '../common/node-agent-contract.js';
import { restoreDriver } from './dpdk.js';
import { badInput } from './errors.js';
import { ipFailure, type AgentHost } from './host.js';
import { isDpdkDriver, validateReleaseInput } from './validate.js';

export async function releaseInterface(host: AgentHost, input: ReleaseInterfaceInput): Promise<ReleaseInterfaceResult> {
  const spec = validateReleaseInput(input);
  const ids = { nodeENI: spec.nodeENI, eniId: spec.eniId, macAddress: spec.mac };
  const record = await host.state.get(spec.mac);
  const sel = await host.links.findByMac(spec.mac);
  if (sel.kind === 'ambiguous') {
    throw badInput('macAddress', `${spec.mac} is carried by several links (${sel.links.map((l) => l.name).join(', ')}); cannot tell which one is ${spec.eniId}`);
  }
  const linkPci = sel.kind === 'found' ? await host.sysfs.pciAddressOfInterface(sel.link.name) : undefined;
  // What this agent recorded, then what the MAC shows, then what the caller says.
  const pci = record?.pciAddress ?? linkPci ?? spec.pciAddress ?? spec.dpdk?.pciAddress;
  host.info('release interface', { ...ids, interfaceName: sel.kind === 'found' ? sel.link.name : record?.interfaceName, pciAddress: pci, action: 'release' });

  return host.lock.run(async () => {
    const result: ReleaseInterfaceResult = { changed: false };
    if (pci) {
      // Advertising stops first, so the device plugin never hands out a device that is being taken back.
      const s = await host.sriov.sync(pci, undefined);
      if (s.changed) {
        result.changed = true;
        host.info('removed device from SR-IOV device plugin config', { ...ids, pciAddress: pci, action: 'sriov-remove', restarted: s.restarted });
      }
      if (await host.sysfs.pciDeviceExists(pci)) {
        const current = await host.sysfs.driverOf(pci);
        // Only a DPDK driver (or a bind cut short by a crash) is undone; a kernel driver is never unbound here.
        if (isDpdkDriver(current) || (current === undefined && record)) {
          const r = await restoreDriver(host.sysfs, pci, record?.originalDriver);
          if (r.changed) result.changed = true;
          if (r.driver) result.restoredDriver = r.driver;
          host.info('returned device from DPDK to the kernel', { ...ids, pciAddress: pci, from: current, driver: r.driver, action: 'dpdk-unbind' });
        }
      }
    }
    if (record) await host.state.delete(spec.mac);
    // The kernel link exists again once the original driver has probed the device (bind is synchronous).
    const after = await host.links.findByMac(spec.mac);
    if (after.kind === 'found') {
      result.interfaceName = after.link.name;
      if (after.link.adminUp) {
        try {
          await host.links.setDown(after.link.name);
        } catch (err) {
          throw ipFailure(err, `setting ${after.link.name} down (MAC ${spec.mac}, ${spec.eniId})`);
        }
        result.changed = true;
        host.info('link down', { ...ids, interfaceName: after.link.name, action: 'down' });
      }
    } else if (record?.interfaceName) {
      result.interfaceName = record.interfaceName;
    }
    if (!result.changed) host.info('nothing to release', { ...ids, action: 'release' });
    return result;
  });
}
