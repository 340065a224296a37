// Access to sysfs under a configurable root (/sys on a node, a temp tree in tests). Every write goes through
// one method, which tells an optional observer: tests record the writes and emulate the kernel's reaction,
// while the product code always reads the resulting state back instead of assuming it.
import fs from 'node:fs/promises';
import { constants } from 'node:fs';
import path from 'node:path';
import { isPciAddress } from './validate.js';

export type SysfsWriteObserver = (relPath: string, value: string) => void | Promise<void>;

export interface SysfsOptions {
  onWrite?: SysfsWriteObserver;
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export class Sysfs {
  private readonly onWrite?: SysfsWriteObserver;

  constructor(
    readonly root: string,
    opts: SysfsOptions = {},
  ) {
    if (opts.onWrite) this.onWrite = opts.onWrite;
  }

  abs(rel: string): string {
    return path.join(this.root, rel);
  }

  /** Basename of a symlink's target (sysfs links such as `driver` and `device`), undefined when absent. */
  async linkTarget(rel: string): Promise<string | undefined> {
    try {
      return path.basename(await fs.readlink(this.abs(rel)));
    } catch (err) {
      if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'EINVAL') return undefined;
      throw err;
    }
  }

  async readText(rel: string): Promise<string | undefined> {
    try {
      return await fs.readFile(this.abs(rel), 'utf8');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async exists(rel: string): Promise<boolean> {
    try {
      await fs.access(this.abs(rel));
      return true;
    } catch {
      return false;
    }
  }

  async list(rel: string): Promise<string[]> {
    try {
      return (await fs.readdir(this.abs(rel))).sort();
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
  }

  /**
   * One write(2) to an existing attribute. No O_CREAT/O_TRUNC (a missing attribute means a missing driver or
   * device, not a file to create) and no O_RDWR (the kernel refuses read access to write-only attributes).
   */
  async write(rel: string, value: string): Promise<void> {
    const fh = await fs.open(this.abs(rel), constants.O_WRONLY);
    try {
      await fh.write(value);
    } finally {
      await fh.close();
    }
    if (this.onWrite) await this.onWrite(rel, value);
  }

  // PCI views used by the DPDK and SR-IOV code.

  async pciAddressOfInterface(ifname: string): Promise<string | undefined> {
    if (ifname.includes('/')) return undefined;
    const target = await this.linkTarget(`class/net/${ifname}/device`);
    return target && isPciAddress(target) ? target : undefined;
  }

  async pciDeviceExists(pci: string): Promise<boolean> {
    return this.exists(`bus/pci/devices/${pci}`);
  }

  async driverOf(pci: string): Promise<string | undefined> {
    return this.linkTarget(`bus/pci/devices/${pci}/driver`);
  }

  async driverLoaded(driver: string): Promise<boolean> {
    return this.exists(`bus/pci/drivers/${driver}`);
  }

  /** The device's driver_override, undefined when unset (the kernel shows "(null)"). */
  async driverOverride(pci: string): Promise<string | undefined> {
    const v = (await this.readText(`bus/pci/devices/${pci}/driver_override`))?.replace(/\0/g, '').trim();
    return v && v !== '(null)' ? v : undefined;
  }

  async pciDevices(): Promise<string[]> {
    return (await this.list('bus/pci/devices')).filter(isPciAddress);
  }
}
