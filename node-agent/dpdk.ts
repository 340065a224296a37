// Executes the DPDK driver plans against sysfs and verifies the result by reading the driver link back.
// A failed bind is rolled back so the device is never left without a driver.
import { deviceRefused, errorMessage } from './errors.js';
import { planBind, planRestore, type DeviceDriverState, type SysfsStep } from './dpdk-plan.js';
import type { Sysfs } from './sysfs.js';

export async function readDriverState(sysfs: Sysfs, pci: string): Promise<DeviceDriverState> {
  const state: DeviceDriverState = { pci };
  const driver = await sysfs.driverOf(pci);
  if (driver) state.driver = driver;
  const override = await sysfs.driverOverride(pci);
  if (override) state.override = override;
  return state;
}

async function apply(sysfs: Sysfs, steps: SysfsStep[]): Promise<void> {
  for (const step of steps) {
    try {
      await sysfs.write(step.path, step.value);
    } catch (err) {
      throw new Error(`writing ${JSON.stringify(step.value.trim())} to ${sysfs.abs(step.path)} failed: ${errorMessage(err)}`);
    }
  }
}

export interface BindResult {
  changed: boolean;
  /** Driver before this call (undefined when the device had none). */
  previousDriver?: string;
}

/**
 * Binds `pci` to `target`. `restoreTo` is the kernel driver to give the device back to should the bind fail
 * (the recorded original; the current driver when there is no record).
 */
export async function bindDriver(sysfs: Sysfs, pci: string, target: string, restoreTo: string | undefined): Promise<BindResult> {
  const before = await readDriverState(sysfs, pci);
  const steps = planBind(before, target);
  const result: BindResult = { changed: steps.length > 0 };
  if (before.driver) result.previousDriver = before.driver;
  if (steps.length === 0) return result;
  try {
    await apply(sysfs, steps);
    const now = await sysfs.driverOf(pci);
    if (now !== target) throw new Error(`after the bind the device's driver is ${now ?? 'none'}, not ${target}`);
    return result;
  } catch (err) {
    const rollback = await restoreDriver(sysfs, pci, restoreTo ?? before.driver).then(
      (r) => `rolled back to ${r.driver ?? 'no driver'}`,
      (e: unknown) => `rollback failed too: ${errorMessage(e)}`,
    );
    throw deviceRefused(`binding PCI device ${pci} to ${target} failed: ${errorMessage(err)} (${rollback})`);
  }
}

export interface RestoreResult {
  changed: boolean;
  /** Driver the device ended on. */
  driver?: string;
}

export async function restoreDriver(sysfs: Sysfs, pci: string, original: string | undefined): Promise<RestoreResult> {
  const before = await readDriverState(sysfs, pci);
  const steps = planRestore(before, original);
  await apply(sysfs, steps);
  const driver = await sysfs.driverOf(pci);
  if (original && driver !== original) {
    throw new Error(`PCI device ${pci} should be back on ${original} but its driver is ${driver ?? 'none'}`);
  }
  const result: RestoreResult = { changed: steps.length > 0 };
  if (driver) result.driver = driver;
  return result;
}
