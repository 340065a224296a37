// A sysfs tree in a temp dir, shaped like the kernel's PCI and net classes, and a small emulation of what the
// kernel does after writes to bind/unbind/driver_override/drivers_probe. Test code only: the node agent sees
// a plain directory tree, records nothing itself, and must read the outcome back like on a real node.
//
//   bus/pci/devices/<pci>/{driver -> ../../drivers/<d>, driver_override, net/<if>/}
//   bus/pci/drivers/<d>/{bind,unbind}      bus/pci/drivers_probe
//   class/net/<if>/device -> ../../../bus/pci/devices/<pci>
//
// Binding a device to its kernel driver creates its network link (a veth in the test's namespace, with the
// device's MAC); unbinding removes it, as hot-plug and driver probe do on a node.
import fs from 'node:fs';
import path from 'node:path';
import type { TestNetns } from './netns.js';

export interface FakeDevice {
  pci: string;
  mac: string;
  ifname: string;
  /** The kernel driver that probes this device (what drivers_probe picks). */
  kernelDriver: string;
}

export interface Write {
  path: string;
  value: string;
}

export class FakeKernel {
  readonly writes: Write[] = [];
  /** Drivers whose probe fails (e.g. vfio-pci without an IOMMU). */
  readonly failingBinds = new Set<string>();

  constructor(
    readonly root: string,
    readonly ns: TestNetns,
    readonly devices: FakeDevice[],
    drivers: string[],
  ) {
    fs.mkdirSync(this.p('bus/pci/devices'), { recursive: true });
    fs.mkdirSync(this.p('class/net'), { recursive: true });
    fs.writeFileSync(this.p('bus/pci/drivers_probe'), '');
    for (const d of drivers) this.addDriver(d);
  }

  p(rel: string): string {
    return path.join(this.root, rel);
  }

  addDriver(name: string): void {
    fs.mkdirSync(this.p(`bus/pci/drivers/${name}`), { recursive: true });
    for (const f of ['bind', 'unbind']) fs.writeFileSync(this.p(`bus/pci/drivers/${name}/${f}`), '');
  }

  /** Creates every device bound to its kernel driver, with its link. */
  async plugAll(): Promise<void> {
    for (const dev of this.devices) {
      fs.mkdirSync(this.p(`bus/pci/devices/${dev.pci}/net`), { recursive: true });
      fs.writeFileSync(this.p(`bus/pci/devices/${dev.pci}/driver_override`), '(null)\n');
      await this.attach(dev, dev.kernelDriver);
    }
  }

  /** Hot-plug: a new device appears, bound to its kernel driver, with its link. */
  async plug(dev: FakeDevice): Promise<void> {
    this.devices.push(dev);
    fs.mkdirSync(this.p(`bus/pci/devices/${dev.pci}/net`), { recursive: true });
    fs.writeFileSync(this.p(`bus/pci/devices/${dev.pci}/driver_override`), '(null)\n');
    await this.attach(dev, dev.kernelDriver);
  }

  /** Hot-unplug: the device and its link vanish, whatever driver holds it. */
  async unplug(pci: string): Promise<void> {
    const dev = this.devices.find((d) => d.pci === pci);
    if (!dev) return;
    if (this.driverOf(pci)) await this.detach(dev).catch(() => undefined);
    fs.rmSync(this.p(`bus/pci/devices/${pci}`), { recursive: true, force: true });
    this.devices.splice(this.devices.indexOf(dev), 1);
  }

  device(pci: string): FakeDevice {
    const dev = this.devices.find((d) => d.pci === pci);
    if (!dev) throw Object.assign(new Error(`ENODEV: no device ${pci}`), { code: 'ENODEV' });
    return dev;
  }

  driverOf(pci: string): string | undefined {
    try {
      return path.basename(fs.readlinkSync(this.p(`bus/pci/devices/${pci}/driver`)));
    } catch {
      return undefined;
    }
  }

  override(pci: string): string | undefined {
    const v = fs.readFileSync(this.p(`bus/pci/devices/${pci}/driver_override`), 'utf8').trim();
    return v === '(null)' ? undefined : v;
  }

  private async attach(dev: FakeDevice, driver: string): Promise<void> {
    fs.symlinkSync(`../../drivers/${driver}`, this.p(`bus/pci/devices/${dev.pci}/driver`));
    if (driver === dev.kernelDriver) {
      await this.ns.addLink(dev.ifname, dev.mac);
      fs.mkdirSync(this.p(`bus/pci/devices/${dev.pci}/net/${dev.ifname}`), { recursive: true });
      fs.mkdirSync(this.p(`class/net/${dev.ifname}`), { recursive: true });
      fs.symlinkSync(`../../../bus/pci/devices/${dev.pci}`, this.p(`class/net/${dev.ifname}/device`));
    }
  }

  private async detach(dev: FakeDevice): Promise<void> {
    const driver = this.driverOf(dev.pci);
    fs.rmSync(this.p(`bus/pci/devices/${dev.pci}/driver`));
    if (driver === dev.kernelDriver) {
      await this.ns.delLink(dev.ifname);
      fs.rmSync(this.p(`bus/pci/devices/${dev.pci}/net/${dev.ifname}`), { recursive: true, force: true });
      fs.rmSync(this.p(`class/net/${dev.ifname}`), { recursive: true, force: true });
    }
  }

  private async bind(pci: string, driver: string): Promise<void> {
    const dev = this.device(pci);
    if (this.driverOf(pci)) throw Object.assign(new Error(`EBUSY: ${pci} already has a driver`), { code: 'EBUSY' });
    const override = this.override(pci);
    if (override !== undefined && override !== driver) throw Object.assign(new Error(`ENODEV: override ${override}`), { code: 'ENODEV' });
    if (override === undefined && driver !== dev.kernelDriver) throw Object.assign(new Error(`ENODEV: ${driver} does not match`), { code: 'ENODEV' });
    if (this.failingBinds.has(driver)) throw Object.assign(new Error(`EINVAL: ${driver} probe failed`), { code: 'EINVAL' });
    await this.attach(dev, driver);
  }

  /** The observer the agent's sysfs layer calls after each write. */
  readonly onWrite = async (rel: string, value: string): Promise<void> => {
    this.writes.push({ path: rel, value });
    let m: RegExpExecArray | null;
    if ((m = /^bus\/pci\/drivers\/([^/]+)\/unbind$/.exec(rel))) {
      const dev = this.device(value.trim());
      if (this.driverOf(dev.pci) !== m[1]) throw Object.assign(new Error(`ENODEV: ${dev.pci} is not bound to ${m[1]}`), { code: 'ENODEV' });
      await this.detach(dev);
    } else if ((m = /^bus\/pci\/drivers\/([^/]+)\/bind$/.exec(rel))) {
      await this.bind(value.trim(), m[1]!);
    } else if ((m = /^bus\/pci\/devices\/([^/]+)\/driver_override$/.exec(rel))) {
      // The kernel stores the value without its newline and shows "(null)" once cleared.
      const v = value.replace(/\0/g, '').trim();
      fs.writeFileSync(this.p(rel), v === '' ? '(null)\n' : `${v}\n`);
    } else if (rel === 'bus/pci/drivers_probe') {
      const dev = this.device(value.trim());
      if (!this.driverOf(dev.pci)) await this.bind(dev.pci, this.override(dev.pci) ?? dev.kernelDriver);
    } else {
      throw new Error(`unexpected sysfs write to ${rel}`);
    }
  };
}
