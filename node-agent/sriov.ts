// Keeps the SR-IOV device plugin's config.json in step with the devices of this node's ENIs. The plugin
// reads its config only at start-up, so a change is followed by a restart of its pod on this node.
import { ApplicationFailure } from '@temporalio/common';
import { readFileIfExists, writeFileAtomic } from './atomic.js';
import { errorMessage } from './errors.js';
import type { Mutex } from './mutex.js';
import { parseSriovConfig, renderSriovConfig, sameConfig, withDevice, withoutDevice, type SriovConfig } from './sriov-config.js';
import type { StateStore } from './state.js';
import type { ResourceName } from './validate.js';

/** Restarts the device plugin on this node so it rereads its config. Pluggable: tests count the calls. */
export type DevicePluginRestarter = (reason: string) => Promise<void>;

// Written before the config and removed after the restart: a crash in between (new config on disk, plugin
// still running with the old one) is caught by the next call, which restarts even though nothing changed.
export const RESTART_PENDING_MARKER = 'sriov-restart-pending';

export interface SyncResult {
  changed: boolean;
  restarted: boolean;
}

export class SriovConfigStore {
  constructor(
    readonly configPath: string,
    private readonly state: StateStore,
    private readonly restart: DevicePluginRestarter,
    private readonly lock: Mutex,
  ) {}

  async read(): Promise<SriovConfig> {
    const text = await readFileIfExists(this.configPath);
    try {
      return parseSriovConfig(text);
    } catch (err) {
      // Retryable: overwriting would lose other entries; an operator can fix the file and the retry succeeds.
      throw ApplicationFailure.retryable(`SR-IOV device plugin config ${this.configPath} is not valid: ${errorMessage(err)}`, 'SriovConfigInvalid');
    }
  }

  /** Lists `pci` under `resource` with `driver`, or, with no resource, removes it from the config. */
  sync(pci: string, desired: (ResourceName & { driver: string }) | undefined): Promise<SyncResult> {
    return this.lock.run(async () => {
      const current = await this.read();
      const next = desired ? withDevice(current, { ...desired, pci }) : withoutDevice(current, pci);
      const changed = !sameConfig(current, next);
      if (changed) {
        await this.state.setMarker(RESTART_PENDING_MARKER);
        await writeFileAtomic(this.configPath, renderSriovConfig(next));
      }
      let restarted = false;
      if (changed || (await this.state.hasMarker(RESTART_PENDING_MARKER))) {
        const what = desired ? `${desired.prefix}/${desired.name} lists ${pci} (${desired.driver})` : `${pci} removed`;
        await this.restart(`SR-IOV device plugin config changed: ${what}`);
        await this.state.clearMarker(RESTART_PENDING_MARKER);
        restarted = true;
      }
      return { changed, restarted };
    });
  }
}
