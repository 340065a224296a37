// Input checks for the node agent's activities. Pure: each returns the normalised value or throws a
// non-retryable failure that names the field, before anything on the host is touched.
import type { ConfigureInterfaceInput, ReleaseInterfaceInput } from '../common/node-agent-contract.js';
import { DPDK_DRIVERS } from '../common/nodeeni.js';
import { badInput } from './errors.js';

export type DpdkDriver = (typeof DPDK_DRIVERS)[number];
export const DEFAULT_DPDK_DRIVER: DpdkDriver = 'vfio-pci';
/** The SR-IOV device plugin's own default when a resource has no prefix. */
export const DEFAULT_RESOURCE_PREFIX = 'intel.com';
// Kernel-wide bounds (IPv4 minimum, largest Ethernet MTU). The CRD narrows this for users; within it the
// device itself decides, and its refusal is reported as DeviceRefused.
export const MTU_LOWEST = 68;
export const MTU_HIGHEST = 65535;
export const LINK_WAIT_MAX_SECONDS = 3600;

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const PCI_FULL_RE = /^([0-9a-f]{4}):([0-9a-f]{2}):([01][0-9a-f])\.([0-7])$/;
const PCI_SHORT_RE = /^([0-9a-f]{2}):([01][0-9a-f])\.([0-7])$/;
const ENI_RE = /^eni-[0-9a-f]{8,}$/;
// The device plugin rejects its whole config when a name has other characters (utils.ValidResourceName).
const RESOURCE_NAME_RE = /^[A-Za-z0-9_]+$/;
const DNS_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isDpdkDriver(driver: string | undefined): driver is DpdkDriver {
  return driver !== undefined && (DPDK_DRIVERS as readonly string[]).includes(driver);
}

export function normalizeMac(field: string, value: unknown): string {
  if (typeof value !== 'string' || !MAC_RE.test(value.toLowerCase())) {
    throw badInput(field, `${JSON.stringify(value)} is not a MAC address (expected six colon-separated hex octets, e.g. 0e:12:34:56:78:9a)`);
  }
  return value.toLowerCase();
}

/** Returns the canonical `dddd:bb:dd.f` form; accepts the short `bb:dd.f` form with domain 0000. */
export function normalizePciAddress(field: string, value: unknown): string {
  const v = typeof value === 'string' ? value.toLowerCase() : '';
  if (PCI_FULL_RE.test(v)) return v;
  if (PCI_SHORT_RE.test(v)) return `0000:${v}`;
  throw badInput(field, `${JSON.stringify(value)} is not a PCI address (expected domain:bus:device.function, e.g. 0000:00:06.0)`);
}

/** True for names sysfs uses for PCI devices; other devices (virtio-mmio, platform) are not PCI. */
export function isPciAddress(value: string): boolean {
  return PCI_FULL_RE.test(value);
}

export function validateDpdkDriver(field: string, value: unknown): DpdkDriver {
  if (value === undefined || value === '') return DEFAULT_DPDK_DRIVER;
  if (typeof value === 'string' && isDpdkDriver(value)) return value;
  throw badInput(field, `unknown DPDK driver ${JSON.stringify(value)} (expected one of ${DPDK_DRIVERS.join(', ')})`);
}

/** undefined means "leave the MTU alone" (0 in the contract). */
export function validateMtu(field: string, value: unknown): number | undefined {
  if (value === undefined || value === null || value === 0) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MTU_LOWEST || value > MTU_HIGHEST) {
    throw badInput(field, `${JSON.stringify(value)} is not a valid MTU (expected 0 to leave it alone, or an integer from ${MTU_LOWEST} to ${MTU_HIGHEST})`);
  }
  return value;
}

export function validateEniId(field: string, value: unknown): string {
  if (typeof value !== 'string' || !ENI_RE.test(value)) {
    throw badInput(field, `${JSON.stringify(value)} is not an ENI ID (expected eni-<hex>)`);
  }
  return value;
}

export interface ResourceName {
  prefix: string;
  name: string;
}

/** `prefix/name` splits in two; a bare name takes the device plugin's default prefix. */
export function parseResourceName(field: string, value: unknown): ResourceName {
  if (typeof value !== 'string' || value === '') throw badInput(field, 'must be a non-empty string such as intel.com/sriov_netdevice');
  const slash = value.indexOf('/');
  const prefix = slash >= 0 ? value.slice(0, slash) : DEFAULT_RESOURCE_PREFIX;
  const name = slash >= 0 ? value.slice(slash + 1) : value;
  if (!DNS_SUBDOMAIN_RE.test(prefix) || prefix.length > 253) {
    throw badInput(field, `prefix ${JSON.stringify(prefix)} of ${JSON.stringify(value)} is not a DNS subdomain such as intel.com`);
  }
  if (!RESOURCE_NAME_RE.test(name)) {
    throw badInput(field, `name ${JSON.stringify(name)} of ${JSON.stringify(value)} may only contain letters, digits and underscores (the SR-IOV device plugin rejects anything else)`);
  }
  return { prefix, name };
}

export function validateLinkWaitSeconds(field: string, value: unknown, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > LINK_WAIT_MAX_SECONDS) {
    throw badInput(field, `${JSON.stringify(value)} must be a number of seconds from 0 to ${LINK_WAIT_MAX_SECONDS}`);
  }
  return value;
}

export interface DpdkSpec {
  driver: DpdkDriver;
  pciAddress?: string;
}

export interface ConfigureSpec {
  nodeENI: string;
  eniId: string;
  mac: string;
  mtu?: number;
  dpdk?: DpdkSpec;
  resource?: ResourceName;
  linkWaitSeconds: number;
}

function validateDpdk(value: ConfigureInterfaceInput['dpdk']): DpdkSpec | undefined {
  if (value === undefined || value === null) return undefined;
  const driver = validateDpdkDriver('dpdk.driver', value.driver);
  const pciAddress = value.pciAddress ? normalizePciAddress('dpdk.pciAddress', value.pciAddress) : undefined;
  return pciAddress ? { driver, pciAddress } : { driver };
}

export function validateConfigureInput(input: ConfigureInterfaceInput, defaultWaitSeconds: number): ConfigureSpec {
  if (input === null || typeof input !== 'object') throw badInput('input', 'must be an object');
  const spec: ConfigureSpec = {
    nodeENI: typeof input.nodeENI === 'string' ? input.nodeENI : '',
    eniId: validateEniId('eniId', input.eniId),
    mac: normalizeMac('macAddress', input.macAddress),
    linkWaitSeconds: validateLinkWaitSeconds('linkWaitSeconds', input.linkWaitSeconds, defaultWaitSeconds),
  };
  const mtu = validateMtu('mtu', input.mtu);
  if (mtu !== undefined) spec.mtu = mtu;
  const dpdk = validateDpdk(input.dpdk);
  if (dpdk) spec.dpdk = dpdk;
  if (input.resourceName) spec.resource = parseResourceName('resourceName', input.resourceName);
  return spec;
}

export interface ReleaseSpec {
  nodeENI: string;
  eniId: string;
  mac: string;
  pciAddress?: string;
  dpdk?: DpdkSpec;
  resource?: ResourceName;
}

export function validateReleaseInput(input: ReleaseInterfaceInput): ReleaseSpec {
  if (input === null || typeof input !== 'object') throw badInput('input', 'must be an object');
  const spec: ReleaseSpec = {
    nodeENI: typeof input.nodeENI === 'string' ? input.nodeENI : '',
    eniId: validateEniId('eniId', input.eniId),
    mac: normalizeMac('macAddress', input.macAddress),
  };
  if (input.pciAddress) spec.pciAddress = normalizePciAddress('pciAddress', input.pciAddress);
  const dpdk = validateDpdk(input.dpdk);
  if (dpdk) spec.dpdk = dpdk;
  if (input.resourceName) spec.resource = parseResourceName('resourceName', input.resourceName);
  return spec;
}
