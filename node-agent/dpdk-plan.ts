// Pure planning of the sysfs writes that move a PCI device between drivers. The order is the kernel's:
// unbind from the current driver, set driver_override (so no other driver grabs the device), bind.

export interface SysfsStep {
  path: string;
  value: string;
}

/** Writing a newline clears driver_override (an empty write never reaches the kernel's store handler). */
export const CLEAR_OVERRIDE = '\n';

export interface DeviceDriverState {
  pci: string;
  /** Driver the device is bound to now, undefined when unbound. */
  driver?: string;
  /** Current driver_override, undefined when unset. */
  override?: string;
}

export function planBind(state: DeviceDriverState, target: string): SysfsStep[] {
  if (state.driver === target) return [];
  const steps: SysfsStep[] = [];
  if (state.driver) steps.push({ path: `bus/pci/drivers/${state.driver}/unbind`, value: state.pci });
  if (state.override !== target) steps.push({ path: `bus/pci/devices/${state.pci}/driver_override`, value: target });
  steps.push({ path: `bus/pci/drivers/${target}/bind`, value: state.pci });
  return steps;
}

/**
 * Back to the kernel: unbind from the current (DPDK) driver, clear driver_override, then bind the original
 * driver, or, when it is unknown (bound by someone else), let the kernel probe the matching driver.
 */
export function planRestore(state: DeviceDriverState, original: string | undefined): SysfsStep[] {
  const steps: SysfsStep[] = [];
  const onOriginal = original !== undefined && state.driver === original;
  if (state.driver && !onOriginal) steps.push({ path: `bus/pci/drivers/${state.driver}/unbind`, value: state.pci });
  if (state.override !== undefined) steps.push({ path: `bus/pci/devices/${state.pci}/driver_override`, value: CLEAR_OVERRIDE });
  if (!onOriginal) {
    steps.push(original ? { path: `bus/pci/drivers/${original}/bind`, value: state.pci } : { path: 'bus/pci/drivers_probe', value: state.pci });
  }
  return steps;
}
