// Readings of a parsed NodeENI spec that workflow code needs, kept apart from the zod schema (common/nodeeni.ts)
// so the workflow bundle carries no schema library: every cached workflow would otherwise hold its own copy.
import type { NodeENISpec } from './nodeeni.js';

/** DPDK switch under either spelling. */
export function dpdkEnabled(spec: NodeENISpec): boolean {
  return spec.enableDPDK ?? spec.dpdkEnabled ?? false;
}

/** Subnet IDs and names in the Go controller's order (ID, IDs, name, names), without repeats. */
export function subnetRefs(spec: NodeENISpec): { ids: string[]; names: string[] } {
  const ids = [...new Set([...(spec.subnetID ? [spec.subnetID] : []), ...(spec.subnetIDs ?? [])])];
  const names = [...new Set([...(spec.subnetName ? [spec.subnetName] : []), ...(spec.subnetNames ?? [])])];
  return { ids, names };
}
