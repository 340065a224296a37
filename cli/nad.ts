// `kubectl nodeeni nad <name> [node]`: a Multus NetworkAttachmentDefinition per attachment of a NodeENI, from its
// status: the interface on the node as the ipvlan `master`, the ENI's secondary addresses and /28 prefixes as the
// host-local IPAM ranges (EC2 routes to a pod only an address assigned to the ENI). An ENI's addresses are its own
// node's, so each definition is for one node, and a pod using it must run there. Pure: the command reads the NodeENI
// and prints what this returns.
import type { AttachmentStatus, NodeENI } from '../common/nodeeni.js';

export interface NadOptions {
  /** Only this node's attachments. */
  node?: string;
  /** Namespace of the definitions (pods use a definition of their own namespace). */
  namespace: string;
  /** ipvlan mode: l3 as in the EKS Multus guide (no ARP between pods and the VPC router), or l2. */
  mode: 'l2' | 'l3' | 'l3s';
}

export interface NetworkAttachmentDefinition {
  apiVersion: 'k8s.cni.cncf.io/v1';
  kind: 'NetworkAttachmentDefinition';
  metadata: { name: string; namespace: string; annotations: Record<string, string>; labels: Record<string, string> };
  spec: { config: string };
}

export interface NadResult {
  definitions: NetworkAttachmentDefinition[];
  /** Attachments that got no definition, and why. */
  skipped: string[];
}

interface HostLocalRange {
  subnet: string;
  rangeStart: string;
  rangeEnd: string;
  gateway: string;
}

const toInt = (ip: string) => ip.split('.').reduce((n, p) => n * 256 + Number(p), 0);
const toIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** The VPC router of a subnet: its base address plus one (VPC User Guide, "Subnet CIDR blocks"). */
export function vpcRouter(cidr: string): string {
  return toIp(toInt(cidr.split('/')[0]!) + 1);
}

/** The first and last address of a prefix such as 10.0.1.32/28. */
export function prefixBounds(prefix: string): [string, string] {
  const [base, bits] = prefix.split('/');
  const start = toInt(base!);
  return [toIp(start), toIp(start + 2 ** (32 - Number(bits)) - 1)];
}

/** A DNS-1123 subdomain from the parts (lowercase, [-a-z0-9.], at most 253 characters). */
function objectName(...parts: string[]): string {
  return parts
    .join('-')
    .toLowerCase()
    .replace(/[^-a-z0-9.]/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 253)
    .replace(/[-.]+$/, '');
}

/** The host-local ranges of one ENI's addresses: one per secondary address, one per prefix, all in one range set. */
export function addressRanges(a: AttachmentStatus): HostLocalRange[] {
  const cidr = a.subnetCIDR;
  if (!cidr) return [];
  const gateway = vpcRouter(cidr);
  return [
    ...(a.secondaryIPv4Addresses ?? []).map((ip) => ({ subnet: cidr, rangeStart: ip, rangeEnd: ip, gateway })),
    ...(a.ipv4Prefixes ?? []).map((p) => {
      const [rangeStart, rangeEnd] = prefixBounds(p);
      return { subnet: cidr, rangeStart, rangeEnd, gateway };
    }),
  ];
}

export function networkAttachmentDefinitions(n: NodeENI, o: NadOptions): NadResult {
  const out: NadResult = { definitions: [], skipped: [] };
  for (const a of n.status?.attachments ?? []) {
    if (o.node && a.nodeID !== o.node) continue;
    const where = `${a.nodeID} ${a.eniID ?? a.subnetID}`;
    if (a.dpdkBound) {
      out.skipped.push(`${where}: bound to ${a.dpdkDriver ?? 'a DPDK driver'}, not a kernel interface (use the SR-IOV device plugin resource ${a.dpdkResourceName ?? ''} instead)`.trim());
      continue;
    }
    if (!a.interfaceName) {
      out.skipped.push(`${where}: no interface on the node yet (phase ${a.phase ?? a.status ?? 'unknown'})`);
      continue;
    }
    const ranges = addressRanges(a);
    if (ranges.length === 0) {
      out.skipped.push(`${where}: the ENI has no secondary addresses or prefixes for pods (set spec.secondaryIPv4Count or spec.ipv4PrefixCount)`);
      continue;
    }
    const name = objectName(n.metadata.name, a.nodeID, a.interfaceName);
    const config = {
      cniVersion: '0.3.1',
      name,
      type: 'ipvlan',
      master: a.interfaceName,
      mode: o.mode,
      ...(a.mtu ? { mtu: a.mtu } : {}),
      ipam: { type: 'host-local', ranges: [ranges] },
    };
    out.definitions.push({
      apiVersion: 'k8s.cni.cncf.io/v1',
      kind: 'NetworkAttachmentDefinition',
      metadata: {
        name,
        namespace: o.namespace,
        labels: { 'networking.k8s.aws/nodeeni': n.metadata.name },
        annotations: {
          'networking.k8s.aws/node': a.nodeID,
          'networking.k8s.aws/eni': a.eniID ?? '',
          'networking.k8s.aws/pod-node-selector': `kubernetes.io/hostname=${a.nodeID}`,
        },
      },
      spec: { config: JSON.stringify(config) },
    });
  }
  return out;
}
