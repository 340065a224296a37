// The contract between the lifecycle workflow and the node agent: the activities a node agent registers on
// its own task queue (`multi-eni-node/<node>`), their inputs and their results. Both sides import this.

export interface DpdkRequest {
  /** Driver to bind: vfio-pci (default), igb_uio or uio_pci_generic. */
  driver: string;
  /** PCI address from the NodeENI (dpdkPCIAddress); when absent the agent finds it from the MAC address. */
  pciAddress?: string;
}

export interface ConfigureInterfaceInput {
  nodeENI: string;
  eniId: string;
  /** The ENI's MAC address: the only way the agent identifies the link. */
  macAddress: string;
  /** Device index the ENI is attached at (informational: never used to guess a name). */
  deviceIndex: number;
  /** MTU to apply; 0 or undefined leaves the interface's MTU alone. */
  mtu?: number;
  /** Bind to a DPDK driver after the link is found. */
  dpdk?: DpdkRequest;
  /** SR-IOV device plugin resource (prefix/name or name) that advertises this device. */
  resourceName?: string;
  /** How long to wait for the link to appear (hot-plug); the agent heartbeats meanwhile. */
  linkWaitSeconds?: number;
}

export interface ConfigureInterfaceResult {
  interfaceName?: string;
  pciAddress?: string;
  mtu?: number;
  /** 'up' for a kernel interface, 'dpdk' when bound to a DPDK driver. */
  state: 'up' | 'dpdk';
  dpdkBound: boolean;
  dpdkDriver?: string;
  /** The kernel driver the device had before a DPDK bind, restored on release. */
  originalDriver?: string;
  /** Whether the SR-IOV device plugin config changed (and its pod was restarted). */
  sriovConfigChanged?: boolean;
}

export interface ReleaseInterfaceInput {
  nodeENI: string;
  eniId: string;
  macAddress: string;
  pciAddress?: string;
  dpdk?: DpdkRequest;
  resourceName?: string;
}

export interface ReleaseInterfaceResult {
  /** False when there was nothing to do (already released, or the link is gone). */
  changed: boolean;
  interfaceName?: string;
  restoredDriver?: string;
}

/** Activity names and signatures the node agent registers. The workflow proxies exactly this type. */
export interface NodeAgentActivities {
  configureInterface(input: ConfigureInterfaceInput): Promise<ConfigureInterfaceResult>;
  releaseInterface(input: ReleaseInterfaceInput): Promise<ReleaseInterfaceResult>;
}

/** ApplicationFailure types the node agent raises as non-retryable. */
export const NODE_AGENT_ERRORS = {
  linkNotFound: 'LinkNotFound',
  badInput: 'InvalidNodeAgentInput',
  deviceRefused: 'DeviceRefused',
} as const;
