// inventory: what the node has now, read-only. Links by MAC with their PCI device and driver, and the
// devices bound to DPDK drivers (which have no link), with the MAC this agent recorded for them.
import type { InventoryLink, InventoryResult } from '../common/node-agent-contract.js';
import type { AgentHost } from './host.js';
import { isDpdkDriver } from './validate.js';

export async function inventory(host: AgentHost): Promise<InventoryResult> {
  const links: InventoryLink[] = [];
  for (const l of await host.links.list()) {
    if (l.linkType !== 'ether') continue;
    const item: InventoryLink = { name: l.name, macAddress: l.permMac ?? l.mac, mtu: l.mtu, state: l.adminUp ? 'up' : 'down' };
    const pci = await host.sysfs.pciAddressOfInterface(l.name);
    if (pci) {
      item.pciAddress = pci;
      const driver = await host.sysfs.driverOf(pci);
      if (driver) item.driver = driver;
    }
    links.push(item);
  }
  const macByPci = new Map((await host.state.list()).map((r) => [r.pciAddress, r.macAddress]));
  const dpdkDevices: InventoryResult['dpdkDevices'] = [];
  for (const pci of await host.sysfs.pciDevices()) {
    const driver = await host.sysfs.driverOf(pci);
    if (!isDpdkDriver(driver)) continue;
    const mac = macByPci.get(pci);
    dpdkDevices.push(mac ? { pciAddress: pci, driver, macAddress: mac } : { pciAddress: pci, driver });
  }
  return { nodeName: host.nodeName, links, dpdkDevices };
}
