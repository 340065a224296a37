// The NodeENI API: zod is the single source of truth. The CRD's openAPIV3Schema is generated from
// these schemas (dev/scripts/gen-crd.ts) and the CEL rules below are shared by both, so the apiserver and
// the TypeScript code reject the same manifests with the same messages.
import { z } from 'zod';

// IDs: the prefix and a lowercase alphanumeric body. Not hex-only on purpose: the seeds' manifests use
// illustrative IDs such as `subnet-0a1b2c3d4e5f6g7h8` and `sg-tenant-a`, and must apply unchanged;
// EC2 itself rejects an ID that does not exist, and that error reaches the NodeENI's conditions.
export const SUBNET_ID_PATTERN = '^subnet-[0-9a-z]+(-[0-9a-z]+)*$';
export const SG_ID_PATTERN = '^sg-[0-9a-z]+(-[0-9a-z]+)*$';
export const PCI_ADDRESS_PATTERN = '^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7]$';
// `prefix/name` as the SR-IOV device plugin takes it, or a bare name (the prefix then defaults); the plugin
// refuses its whole config when a name has anything but letters, digits and underscores.
export const RESOURCE_NAME_PATTERN = '^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9_]+$';
export const DPDK_DRIVERS = ['vfio-pci', 'igb_uio', 'uio_pci_generic'] as const;
export const MTU_MIN = 576;
export const MTU_MAX = 9001;
export const DEVICE_INDEX_MAX = 127;
// Label keys and values as Kubernetes validates them (apimachinery's IsQualifiedName and IsValidLabelValue): an
// optional DNS-subdomain prefix of at most 253 characters and `/`, then a name of at most 63 characters that starts
// and ends alphanumeric with `-`, `_`, `.` between; a value is empty or such a name. A selector that breaks them can
// never match a Node, so it is refused rather than reported Ready with nothing selected.
// The prefix is a DNS-1123 subdomain: dot-separated labels that start and end alphanumeric (`a..b/`, `a.-b/` are not
// label keys); its 253-character bound is checked apart (RE2 has no lookahead), in CEL and in isLabelKey alike. `[.]`,
// not an escaped dot: the pattern is also a CEL string literal, where `\.` is not a valid escape.
export const LABEL_KEY_PATTERN = '^([a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';
export const LABEL_PREFIX_MAX = 253;
export const LABEL_VALUE_PATTERN = '^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$';
export const NODE_SELECTOR_MAX = 32;
/** EC2 IDs are at most 24 characters today (`subnet-` + 17); the bound leaves room and keeps status writes small. */
export const EC2_ID_MAX = 64;
/**
 * The most IPv4 addresses any instance type takes per network interface (DescribeInstanceTypes
 * NetworkInfo.Ipv4AddressesPerInterface; 50 on the largest types). The primary address is one of them, and each /28
 * prefix counts as one (EC2 User Guide, "Assign prefixes to Amazon EC2 network interfaces"). The node's own type's
 * limit is checked when the pair plans its ENIs.
 */
export const IPV4_PER_ENI_MAX = 50;
export const IPV4_PATTERN = '^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])[.]){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$';

/** CEL rules on the spec, evaluated by the apiserver; `check` is the same rule for TypeScript. */
export interface SpecRule {
  rule: string;
  message: string;
  fieldPath?: string;
  check: (spec: NodeENISpecInput) => boolean;
}

const nonEmpty = (a: unknown[] | undefined) => a !== undefined && a.length > 0;

const labelKeyRe = new RegExp(LABEL_KEY_PATTERN);
/** A valid label key, as apimachinery's IsQualifiedName (the length checked first: no regex runs on a huge key). */
export function isLabelKey(k: string): boolean {
  const slash = k.indexOf('/');
  return k.length <= LABEL_PREFIX_MAX + 1 + 63 && (slash < 0 || slash <= LABEL_PREFIX_MAX) && labelKeyRe.test(k);
}

export const SPEC_RULES: SpecRule[] = [
  {
    rule:
      'has(self.subnetID) || has(self.subnetName) || (has(self.subnetIDs) && size(self.subnetIDs) > 0) || (has(self.subnetNames) && size(self.subnetNames) > 0)',
    message: 'one of subnetID, subnetName, subnetIDs or subnetNames is required',
    check: (s) => s.subnetID !== undefined || s.subnetName !== undefined || nonEmpty(s.subnetIDs) || nonEmpty(s.subnetNames),
  },
  {
    rule:
      '(has(self.securityGroupIDs) && size(self.securityGroupIDs) > 0) || (has(self.securityGroupNames) && size(self.securityGroupNames) > 0)',
    message: 'one of securityGroupIDs or securityGroupNames is required',
    check: (s) => nonEmpty(s.securityGroupIDs) || nonEmpty(s.securityGroupNames),
  },
  {
    // A key with no value (`ng:` or `ng: null`) is dropped on the way in and the selector would match every node.
    rule: 'size(self.nodeSelector) > 0',
    message:
      'nodeSelector must name at least one label (a label written without a value is dropped, and an empty selector would match every node; to select every Linux node say kubernetes.io/os: linux)',
    fieldPath: '.nodeSelector',
    check: (s) => Object.keys(s.nodeSelector ?? {}).length > 0,
  },
  {
    // The CRD keeps null values (nullable) so that this rule sees them: dropped, `{ng: null, zone: a}` would be stored
    // as `{zone: a}` and put ENIs on every node of the zone.
    rule: 'self.nodeSelector.all(k, type(self.nodeSelector[k]) != null_type)',
    message:
      "nodeSelector has a label without a value (`ng:` or `ng: null`): it would be dropped and the selector would match nodes it was meant to exclude; give it a value ('' is one)",
    fieldPath: '.nodeSelector',
    check: (s) => Object.values(s.nodeSelector ?? {}).every((v) => v !== null),
  },
  {
    rule: `self.nodeSelector.all(k, k.matches('${LABEL_KEY_PATTERN}') && (!k.contains('/') || k.indexOf('/') <= ${LABEL_PREFIX_MAX}))`,
    message:
      'nodeSelector keys must be valid label keys: an optional DNS-subdomain prefix (at most 253 characters, dot-separated lowercase alphanumeric words with inner -) and /, then at most 63 characters [A-Za-z0-9-_.] starting and ending alphanumeric',
    fieldPath: '.nodeSelector',
    check: (s) => Object.keys(s.nodeSelector ?? {}).every(isLabelKey),
  },
  {
    rule: '!has(self.mtu) || self.mtu == 0 || (self.mtu >= 576 && self.mtu <= 9001)',
    message: `mtu must be 0 (leave the interface's MTU alone) or between ${MTU_MIN} and ${MTU_MAX}`,
    fieldPath: '.mtu',
    check: (s) => s.mtu === undefined || s.mtu === 0 || (s.mtu >= MTU_MIN && s.mtu <= MTU_MAX),
  },
  {
    rule: `(has(self.secondaryIPv4Count) ? self.secondaryIPv4Count : 0) + (has(self.ipv4PrefixCount) ? self.ipv4PrefixCount : 0) <= ${IPV4_PER_ENI_MAX - 1}`,
    message: `secondaryIPv4Count + ipv4PrefixCount must be at most ${IPV4_PER_ENI_MAX - 1}: with the primary address, no instance type takes more than ${IPV4_PER_ENI_MAX} IPv4 addresses per interface (a /28 prefix counts as one)`,
    fieldPath: '.secondaryIPv4Count',
    check: (s) => (s.secondaryIPv4Count ?? 0) + (s.ipv4PrefixCount ?? 0) <= IPV4_PER_ENI_MAX - 1,
  },
  {
    // One address cannot be the primary of an ENI in each of several subnets.
    rule: '!has(self.primaryIPv4Address) || (has(self.subnetID) ? 1 : 0) + (has(self.subnetName) ? 1 : 0) + (has(self.subnetIDs) ? size(self.subnetIDs) : 0) + (has(self.subnetNames) ? size(self.subnetNames) : 0) == 1',
    message: 'primaryIPv4Address needs exactly one subnet (subnetID or subnetName): an address belongs to one subnet',
    fieldPath: '.primaryIPv4Address',
    check: (s) => s.primaryIPv4Address === undefined || (s.subnetID ? 1 : 0) + (s.subnetName ? 1 : 0) + (s.subnetIDs?.length ?? 0) + (s.subnetNames?.length ?? 0) === 1,
  },
  {
    rule: '!(has(self.enableDPDK) && has(self.dpdkEnabled)) || self.enableDPDK == self.dpdkEnabled',
    message: 'enableDPDK and dpdkEnabled (its alias) disagree',
    fieldPath: '.dpdkEnabled',
    check: (s) => s.enableDPDK === undefined || s.dpdkEnabled === undefined || s.enableDPDK === s.dpdkEnabled,
  },
];

const subnetId = z.string().max(EC2_ID_MAX).regex(new RegExp(SUBNET_ID_PATTERN), 'must look like subnet-0123456789abcdef0');
const sgId = z.string().max(EC2_ID_MAX).regex(new RegExp(SG_ID_PATTERN), 'must look like sg-0123456789abcdef0');
const tagValue = z.string().min(1).max(255);
/** A list the apiserver keeps as a set (`x-kubernetes-list-type: set`): a repeated entry is refused, naming it. */
const uniqueList = <T extends z.ZodType<string>>(item: T, max: number) =>
  z
    .array(item)
    .max(max)
    .superRefine((a, ctx) => {
      a.forEach((v, i) => {
        if (a.indexOf(v) !== i) ctx.addIssue({ code: 'custom', message: `Duplicate value: "${v}"`, path: [i] });
      });
    });
const labelValue = z.string().max(63).regex(new RegExp(LABEL_VALUE_PATTERN), 'must be a valid label value: at most 63 characters [A-Za-z0-9-_.], starting and ending alphanumeric');

/** The spec fields that are sets: duplicates are refused by the CRD and by parseSpec alike. */
export const SET_FIELDS = ['subnetIDs', 'subnetNames', 'securityGroupIDs', 'securityGroupNames'] as const;

// Strict: a field the schema does not know is refused, as `kubectl apply` (strict field validation) refuses it; the
// apiserver prunes unknown fields from what it stores, so a stored NodeENI never carries one.
export const NodeENISpecSchema = z
  .strictObject({
    nodeSelector: z
      .record(z.string().max(317), labelValue)
      .refine((m) => Object.keys(m).length <= NODE_SELECTOR_MAX, `at most ${NODE_SELECTOR_MAX} labels`)
      .meta({ description: 'Labels a Node must carry to get the ENIs (at least one; valid label keys and values).', maxProperties: NODE_SELECTOR_MAX }),
    subnetID: subnetId.optional().meta({ description: 'Subnet to create the ENI in.' }),
    subnetName: tagValue.optional().meta({ description: 'Subnet by its Name tag.' }),
    subnetIDs: uniqueList(subnetId, 15).optional().meta({ description: 'Several subnets: one ENI per subnet per node.' }),
    subnetNames: uniqueList(tagValue, 15).optional().meta({ description: 'Several subnets by Name tag.' }),
    securityGroupIDs: uniqueList(sgId, 16).optional().meta({ description: 'Security groups for the ENIs.' }),
    securityGroupNames: uniqueList(tagValue, 16).optional().meta({ description: 'Security groups by group name or Name tag.' }),
    deviceIndex: z.number().int().min(1).max(DEVICE_INDEX_MAX).default(1).meta({
      description: 'Device index of the first ENI; the next subnets take the following indexes, bumped past ones in use.',
    }),
    deleteOnTermination: z.boolean().default(true).meta({ description: 'Delete the ENI when the instance terminates.' }),
    sourceDestCheck: z.boolean().optional().meta({
      description: "EC2's source/destination check on the ENIs; false for pods that route or forward (routers, firewalls, UPF). Unset leaves EC2's default (true).",
    }),
    secondaryIPv4Count: z.number().int().min(0).max(IPV4_PER_ENI_MAX - 1).optional().meta({
      description:
        "Secondary private IPv4 addresses on each ENI, for pods on the interface (the IPAM range of a NetworkAttachmentDefinition); listed per attachment in status. Counts against the instance type's IPv4 addresses per interface.",
    }),
    ipv4PrefixCount: z.number().int().min(0).max(IPV4_PER_ENI_MAX - 1).optional().meta({
      description: 'IPv4 /28 prefixes (16 addresses each) delegated to each ENI (Nitro instance types); each counts as one address against the per-interface limit.',
    }),
    primaryIPv4Address: z.string().max(15).regex(new RegExp(IPV4_PATTERN), 'must be an IPv4 address such as 10.0.1.50').optional().meta({
      description: 'Static primary private IPv4 address of the ENI (one subnet; an address is one ENI\'s, so select one node).',
    }),
    description: z.string().max(255).optional().meta({ description: 'ENI description.' }),
    mtu: z.number().int().min(0).max(MTU_MAX).optional().meta({ description: 'MTU set on the interface by the node agent; 0 or unset leaves it alone.' }),
    enableDPDK: z.boolean().optional().meta({ description: 'Bind the interface to a DPDK driver.' }),
    dpdkEnabled: z.boolean().optional().meta({ description: 'Alias of enableDPDK (the spelling in the Go controller README).' }),
    dpdkDriver: z.enum(DPDK_DRIVERS).default('vfio-pci').meta({ description: 'Driver to bind for DPDK.' }),
    dpdkPCIAddress: z.string().max(12).regex(new RegExp(PCI_ADDRESS_PATTERN), 'must look like 0000:00:06.0').optional().meta({
      description: 'PCI address of the device; found from the MAC address when unset.',
    }),
    dpdkResourceName: z.string().regex(new RegExp(RESOURCE_NAME_PATTERN), 'must look like intel.com/sriov_netdevice').max(253).optional().meta({
      description: 'SR-IOV device plugin resource that advertises the device.',
    }),
  })
  .superRefine((spec, ctx) => {
    for (const r of SPEC_RULES) {
      if (!r.check(spec)) ctx.addIssue({ code: 'custom', message: r.message, path: r.fieldPath ? [r.fieldPath.slice(1)] : [] });
    }
  });

export type NodeENISpecInput = z.input<typeof NodeENISpecSchema>;
export type NodeENISpec = z.output<typeof NodeENISpecSchema>;

/** Coarse, Go-compatible attachment status, and the detailed lifecycle phase. */
export const ATTACHMENT_PHASES = [
  'Pending',
  'Creating',
  'Attaching',
  'WaitingForNodeAgent',
  'Configuring',
  'Ready',
  'Releasing',
  'Failed',
] as const;
export type AttachmentPhase = (typeof ATTACHMENT_PHASES)[number];

export const AttachmentStatusSchema = z.object({
  nodeID: z.string().meta({ description: "The node's name (the Go controller's field name)." }),
  subnetID: z.string(),
  instanceID: z.string().optional(),
  eniID: z.string().optional(),
  attachmentID: z.string().optional(),
  subnetCIDR: z.string().optional(),
  securityGroupIDs: z.array(z.string()).optional(),
  deviceIndex: z.number().int().optional(),
  deleteOnTermination: z.boolean().optional(),
  sourceDestCheck: z.boolean().optional().meta({ description: "The ENI's source/destination check as last set (shown when the spec sets it)." }),
  privateIPv4Address: z.string().optional().meta({ description: "The ENI's primary private IPv4 address (shown when the spec asks for addresses)." }),
  secondaryIPv4Addresses: z.array(z.string()).optional().meta({ description: "The ENI's secondary private IPv4 addresses (spec.secondaryIPv4Count)." }),
  ipv4Prefixes: z.array(z.string()).optional().meta({ description: 'The /28 prefixes delegated to the ENI (spec.ipv4PrefixCount).' }),
  mtu: z.number().int().optional(),
  macAddress: z.string().optional(),
  interfaceName: z.string().optional().meta({ description: 'Name of the interface on the node (what a Multus NetworkAttachmentDefinition names as master).' }),
  status: z.string().optional().meta({ description: 'attached, attaching, detaching or failed (Go controller compatible).' }),
  phase: z.enum(ATTACHMENT_PHASES).optional(),
  message: z.string().optional(),
  lastUpdated: z.string().optional(),
  dpdkBound: z.boolean().optional(),
  dpdkDriver: z.string().optional(),
  dpdkResourceName: z.string().optional(),
  dpdkPCIAddress: z.string().optional(),
});
export type AttachmentStatus = z.infer<typeof AttachmentStatusSchema>;

export const ConditionSchema = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string(),
  message: z.string(),
  lastTransitionTime: z.string(),
  observedGeneration: z.number().int().optional(),
});
export type Condition = z.infer<typeof ConditionSchema>;

export const NodeENIStatusSchema = z.object({
  attachments: z.array(AttachmentStatusSchema).optional(),
  conditions: z.array(ConditionSchema).optional(),
  observedGeneration: z.number().int().optional(),
  /** "ready/desired" attachments, for `kubectl get` at a glance. */
  ready: z.string().optional(),
  readyCount: z.number().int().optional(),
  desiredCount: z.number().int().optional(),
  nodeCount: z.number().int().optional(),
});
export type NodeENIStatus = z.infer<typeof NodeENIStatusSchema>;

export interface NodeENI {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    deletionTimestamp?: string | Date;
    finalizers?: string[];
    creationTimestamp?: string | Date;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: NodeENISpecInput;
  status?: NodeENIStatus;
}

export type SpecResult = { ok: true; spec: NodeENISpec } | { ok: false; error: string };

/** Validates a spec as the apiserver would and names each offending field. */
export function parseSpec(raw: unknown): SpecResult {
  const r = NodeENISpecSchema.safeParse(raw);
  if (r.success) return { ok: true, spec: r.data };
  const error = r.error.issues
    .flatMap((i) => {
      const path = i.path.length ? `spec.${i.path.map(String).join('.')}` : 'spec';
      // Named as the apiserver names them: `unknown field "spec.subnetId"`.
      if (i.code === 'unrecognized_keys') return i.keys.map((k) => `${path}.${k}: unknown field "${path}.${k}"`);
      return [`${path}: ${i.message}`];
    })
    .join('; ');
  return { ok: false, error };
}

export { dpdkEnabled, subnetRefs } from './spec-fields.js';
