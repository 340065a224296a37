import { addressRanges, networkAttachmentDefinitions, prefixBounds, vpcRouter } from './nad.js';
import type { AttachmentStatus, NodeENI } from '../common/nodeeni.js';

const entry = (extra: Partial<AttachmentStatus>): AttachmentStatus => ({
  nodeID: 'ip-10-0-1-23.ec2.internal',
  subnetID: 'subnet-a',
  subnetCIDR: '10.0.4.0/24',
  eniID: 'eni-1',
  interfaceName: 'eth1',
  phase: 'Ready',
  mtu: 9001,
  secondaryIPv4Addresses: ['10.0.4.70', '10.0.4.71'],
  ipv4Prefixes: ['10.0.4.96/28'],
  ...extra,
});
const nodeENI = (attachments: AttachmentStatus[]): NodeENI => ({
  apiVersion: 'networking.k8s.aws/v1alpha1',
  kind: 'NodeENI',
  metadata: { name: 'user-plane' },
  spec: { nodeSelector: { ng: 'multus' } },
  status: { attachments },
});

describe('NetworkAttachmentDefinition per attachment', () => {
  it('the VPC router and a prefix as a range', () => {
    expect(vpcRouter('10.0.4.0/24')).toBe('10.0.4.1');
    expect(prefixBounds('10.0.4.96/28')).toEqual(['10.0.4.96', '10.0.4.111']);
  });

  it('ipvlan on the interface, host-local over exactly the ENI addresses, one node, pods pinned there', () => {
    const r = networkAttachmentDefinitions(nodeENI([entry({})]), { namespace: 'upf', mode: 'l3' });
    expect(r.skipped).toEqual([]);
    expect(r.definitions).toHaveLength(1);
    const d = r.definitions[0]!;
    expect(d.metadata).toMatchObject({ name: 'user-plane-ip-10-0-1-23.ec2.internal-eth1', namespace: 'upf' });
    expect(d.metadata.annotations['networking.k8s.aws/pod-node-selector']).toBe('kubernetes.io/hostname=ip-10-0-1-23.ec2.internal');
    expect(JSON.parse(d.spec.config)).toEqual({
      cniVersion: '0.3.1',
      name: 'user-plane-ip-10-0-1-23.ec2.internal-eth1',
      type: 'ipvlan',
      master: 'eth1',
      mode: 'l3',
      mtu: 9001,
      ipam: {
        type: 'host-local',
        ranges: [
          [
            { subnet: '10.0.4.0/24', rangeStart: '10.0.4.70', rangeEnd: '10.0.4.70', gateway: '10.0.4.1' },
            { subnet: '10.0.4.0/24', rangeStart: '10.0.4.71', rangeEnd: '10.0.4.71', gateway: '10.0.4.1' },
            { subnet: '10.0.4.0/24', rangeStart: '10.0.4.96', rangeEnd: '10.0.4.111', gateway: '10.0.4.1' },
          ],
        ],
      },
    });
  });

  it('leaves out, saying why, an attachment with no addresses, no interface yet, or bound to DPDK; filters by node', () => {
    const r = networkAttachmentDefinitions(
      nodeENI([
        entry({ secondaryIPv4Addresses: undefined, ipv4Prefixes: undefined }),
        entry({ nodeID: 'n2', interfaceName: undefined, phase: 'Attaching' }),
        entry({ nodeID: 'n3', dpdkBound: true, dpdkDriver: 'vfio-pci', dpdkResourceName: 'intel.com/upf' }),
        entry({ nodeID: 'n4' }),
      ]),
      { namespace: 'default', mode: 'l2' },
    );
    expect(r.definitions.map((d) => d.metadata.annotations['networking.k8s.aws/node'])).toEqual(['n4']);
    expect(r.skipped).toEqual([
      'ip-10-0-1-23.ec2.internal eni-1: the ENI has no secondary addresses or prefixes for pods (set spec.secondaryIPv4Count or spec.ipv4PrefixCount)',
      'n2 eni-1: no interface on the node yet (phase Attaching)',
      'n3 eni-1: bound to vfio-pci, not a kernel interface (use the SR-IOV device plugin resource intel.com/upf instead)',
    ]);
    expect(networkAttachmentDefinitions(nodeENI([entry({}), entry({ nodeID: 'n4' })]), { namespace: 'default', mode: 'l3', node: 'n4' }).definitions).toHaveLength(1);
    expect(addressRanges(entry({ subnetCIDR: undefined }))).toEqual([]);
  });
});
