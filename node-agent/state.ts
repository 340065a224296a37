// The agent's small durable memory on the node. A DPDK bind makes the kernel link (and with it the way to
// find the device by MAC) disappear, so the device's PCI address and original driver are written here
// *before* the unbind: a crash at any point leaves enough to finish or undo the bind.
import fs from 'node:fs/promises';
import path from 'node:path';
import { readFileIfExists, writeFileAtomic } from './atomic.js';

export interface DeviceRecord {
  macAddress: string;
  eniId: string;
  nodeENI: string;
  pciAddress: string;
  /** Kernel driver before the first DPDK bind; undefined when the device was already on DPDK when first seen. */
  originalDriver?: string;
  /** DPDK driver requested. */
  driver: string;
  interfaceName?: string;
  updatedAt: string;
}

const RECORD_PREFIX = 'dpdk-';

function recordFile(dir: string, mac: string): string {
  return path.join(dir, `${RECORD_PREFIX}${mac.replace(/:/g, '-')}.json`);
}

export class StateStore {
  constructor(readonly dir: string) {}

  async get(mac: string): Promise<DeviceRecord | undefined> {
    const text = await readFileIfExists(recordFile(this.dir, mac));
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as DeviceRecord;
    } catch (err) {
      // A record is written atomically, so this is damage from outside: better to stop than to guess.
      throw new Error(`state file ${recordFile(this.dir, mac)} is not valid JSON (${(err as Error).message}); inspect or remove it`);
    }
  }

  async put(record: DeviceRecord): Promise<void> {
    await writeFileAtomic(recordFile(this.dir, record.macAddress), `${JSON.stringify(record, null, 2)}\n`);
  }

  async delete(mac: string): Promise<void> {
    await fs.rm(recordFile(this.dir, mac), { force: true });
  }

  async list(): Promise<DeviceRecord[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const records: DeviceRecord[] = [];
    for (const name of names.sort()) {
      if (!name.startsWith(RECORD_PREFIX) || !name.endsWith('.json')) continue;
      const text = await readFileIfExists(path.join(this.dir, name));
      if (text === undefined) continue;
      try {
        records.push(JSON.parse(text) as DeviceRecord);
      } catch {
        // Inventory is best effort; get() reports damaged records to the activity that needs them.
      }
    }
    return records;
  }

  /** Markers: empty files recording an obligation that must survive a crash (e.g. a pending restart). */
  async hasMarker(name: string): Promise<boolean> {
    return (await readFileIfExists(path.join(this.dir, name))) !== undefined;
  }

  async setMarker(name: string): Promise<void> {
    await writeFileAtomic(path.join(this.dir, name), `${new Date().toISOString()}\n`);
  }

  async clearMarker(name: string): Promise<void> {
    await fs.rm(path.join(this.dir, name), { force: true });
  }
}
