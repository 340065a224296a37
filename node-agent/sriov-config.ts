// Pure edits of the SR-IOV device plugin's config.json:
//   {"resourceList":[{"resourcePrefix":"intel.com","resourceName":"name","selectors":[{"drivers":["vfio-pci"],"pciAddresses":["0000:00:06.0"]}]}]}
// The agent owns only the PCI addresses of its ENIs: entries and fields it did not write are kept as they are.
import { badInput } from './errors.js';
import { DEFAULT_RESOURCE_PREFIX } from './validate.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export interface SriovConfig {
  resourceList: JsonObject[];
  [k: string]: Json;
}

export interface SriovDevice {
  prefix: string;
  name: string;
  driver: string;
  pci: string;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses the file's text; a missing or empty file is an empty config. Throws on anything else malformed. */
export function parseSriovConfig(text: string | undefined): SriovConfig {
  if (text === undefined || text.trim() === '') return { resourceList: [] };
  const parsed: unknown = JSON.parse(text);
  if (!isObject(parsed)) throw new Error('the top level is not a JSON object');
  const list = parsed.resourceList ?? [];
  if (!Array.isArray(list) || !list.every(isObject)) throw new Error('resourceList is not an array of objects');
  return { ...parsed, resourceList: list };
}

export function renderSriovConfig(config: SriovConfig): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}

function canonical(v: Json | SriovConfig): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObject(v)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k]!)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Equal content regardless of key order or formatting: only a real change restarts the plugin. */
export function sameConfig(a: SriovConfig, b: SriovConfig): boolean {
  return canonical(a) === canonical(b);
}

function clone(config: SriovConfig): SriovConfig {
  return JSON.parse(JSON.stringify(config)) as SriovConfig;
}

function prefixOf(resource: JsonObject): string {
  return typeof resource.resourcePrefix === 'string' && resource.resourcePrefix !== '' ? resource.resourcePrefix : DEFAULT_RESOURCE_PREFIX;
}

function stringArray(v: Json | undefined): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}

/** A selector this agent can extend: exactly drivers + pciAddresses, with the same single driver. */
function isOwnSelector(sel: Json, driver: string): sel is JsonObject {
  if (!isObject(sel)) return false;
  const keys = Object.keys(sel).sort();
  const drivers = stringArray(sel.drivers);
  return keys.join(',') === 'drivers,pciAddresses' && drivers?.length === 1 && drivers[0] === driver && stringArray(sel.pciAddresses) !== undefined;
}

function selectorsOf(resource: JsonObject): Json[] {
  return isObject(resource.selectors) ? [resource.selectors] : Array.isArray(resource.selectors) ? resource.selectors : [];
}

/**
 * Removes the PCI address from every selector but `keep`, in place. A selector left with no address is
 * dropped (an empty pciAddresses list would match every device), and so is a resource left with no selector.
 */
function removeInPlace(config: SriovConfig, pci: string, keep?: JsonObject): void {
  config.resourceList = config.resourceList.filter((resource) => {
    const single = isObject(resource.selectors);
    let touched = false;
    const kept = selectorsOf(resource).filter((sel) => {
      if (!isObject(sel) || sel === keep) return true;
      const addrs = stringArray(sel.pciAddresses);
      if (!addrs?.includes(pci)) return true;
      touched = true;
      sel.pciAddresses = addrs.filter((a) => a !== pci);
      return sel.pciAddresses.length > 0;
    });
    if (!touched) return true;
    if (kept.length === 0) return false;
    resource.selectors = single ? kept[0]! : kept;
    return true;
  });
}

export function withoutDevice(config: SriovConfig, pci: string): SriovConfig {
  const next = clone(config);
  removeInPlace(next, pci);
  return next;
}

/** Lists the device under prefix/name with its driver, and nowhere else (a device is one resource). */
export function withDevice(config: SriovConfig, dev: SriovDevice): SriovConfig {
  const next = clone(config);
  const clash = next.resourceList.find((r) => r.resourceName === dev.name && prefixOf(r) !== dev.prefix);
  if (clash) {
    // The plugin requires resource names to be unique regardless of prefix.
    throw badInput('resourceName', `${dev.prefix}/${dev.name}: the device plugin config already has ${prefixOf(clash)}/${dev.name}, and names must be unique across prefixes`);
  }
  let resource = next.resourceList.find((r) => r.resourceName === dev.name);
  let own = resource && selectorsOf(resource).find((s): s is JsonObject => isOwnSelector(s, dev.driver));
  if (own && stringArray(own.pciAddresses)!.includes(dev.pci)) {
    // Already listed where it belongs: only stray copies elsewhere go, so a repeat changes nothing.
    removeInPlace(next, dev.pci, own);
    return next;
  }
  removeInPlace(next, dev.pci);
  resource = next.resourceList.find((r) => r.resourceName === dev.name);
  if (!resource) {
    resource = { resourcePrefix: dev.prefix, resourceName: dev.name, selectors: [] };
    next.resourceList.push(resource);
  }
  const selectors = selectorsOf(resource);
  own = selectors.find((s): s is JsonObject => isOwnSelector(s, dev.driver));
  if (own) {
    own.pciAddresses = [...stringArray(own.pciAddresses)!, dev.pci].sort();
  } else {
    selectors.push({ drivers: [dev.driver], pciAddresses: [dev.pci] });
  }
  resource.selectors = selectors;
  return next;
}

/** Where the device is listed now, if anywhere. */
export function findDevice(config: SriovConfig, pci: string): { prefix: string; name: string; drivers: string[] } | undefined {
  for (const resource of config.resourceList) {
    for (const sel of selectorsOf(resource)) {
      if (isObject(sel) && stringArray(sel.pciAddresses)?.includes(pci)) {
        return { prefix: prefixOf(resource), name: String(resource.resourceName), drivers: stringArray(sel.drivers) ?? [] };
      }
    }
  }
  return undefined;
}
