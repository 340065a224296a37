import { attachmentStatuses, configureKey, desiredChanged, pairPhase, planDeviceIndexes } from './plan.js';
import { parseSpec, type NodeENISpec } from '../common/nodeeni.js';
import type { DesiredPair, EniRecord } from '../common/lifecycle-contract.js';

function spec(extra: Record<string, unknown> = {}): NodeENISpec {
  const r = parseSpec({ nodeSelector: { ng: 'multi-eni' }, subnetID: 'subnet-1', securityGroupIDs: ['sg-1'], deviceIndex: 2, ...extra });
  if (!r.ok) throw new Error(r.error);
  return r.spec;
}
const desired = (s: NodeENISpec): DesiredPair => ({ nodeENI: 'n', nodeName: 'node-a', uid: 'u', generation: 1, instanceId: 'i-1', spec: s });

describe('planDeviceIndexes', () => {
  it('gives deviceIndex + position when nothing is in use', () => {
    expect(planDeviceIndexes(2, 3, [0])).toEqual([2, 3, 4]);
  });
  it('bumps past indexes in use, keeping the order of subnets', () => {
    expect(planDeviceIndexes(2, 3, [0, 2, 4])).toEqual([3, 5, 6]);
  });
});

describe('configureKey', () => {
  it('changes with the MTU and the DPDK settings, not with unrelated fields', () => {
    const k = configureKey(spec({ mtu: 9001 }), 'aa');
    expect(configureKey(spec({ mtu: 1500 }), 'aa')).not.toBe(k);
    expect(configureKey(spec({ mtu: 9001, dpdkEnabled: true }), 'aa')).not.toBe(k);
    expect(configureKey(spec({ mtu: 9001, description: 'x' }), 'aa')).toBe(k);
  });
});

describe('attachmentStatuses', () => {
  it("reports the Go controller's fields plus MAC, interface name, phase and message", () => {
    const e: EniRecord = {
      subnetId: 'subnet-1',
      subnetCidr: '10.0.1.0/24',
      eniId: 'eni-1',
      attachmentId: 'eni-attach-1',
      deviceIndex: 2,
      macAddress: '02:00:00:00:00:01',
      interfaceName: 'eth2',
      mtuApplied: 9001,
      deleteOnTermination: true,
      phase: 'Ready',
    };
    expect(attachmentStatuses(desired(spec({ mtu: 9001 })), [e])).toEqual([
      {
        nodeID: 'node-a',
        subnetID: 'subnet-1',
        instanceID: 'i-1',
        eniID: 'eni-1',
        attachmentID: 'eni-attach-1',
        subnetCIDR: '10.0.1.0/24',
        deviceIndex: 2,
        deleteOnTermination: true,
        macAddress: '02:00:00:00:00:01',
        interfaceName: 'eth2',
        mtu: 9001,
        status: 'attached',
        phase: 'Ready',
      },
    ]);
  });
  it('shows DPDK fields when DPDK is asked for, under either spelling', () => {
    const [s] = attachmentStatuses(desired(spec({ dpdkEnabled: true, dpdkResourceName: 'intel.com/upf' })), [{ subnetId: 'subnet-1', phase: 'Configuring' }]);
    expect(s).toMatchObject({ dpdkBound: false, dpdkDriver: 'vfio-pci', dpdkResourceName: 'intel.com/upf', status: 'attached' });
  });
});

describe('pairPhase', () => {
  it('is Failed if any ENI failed, else the least advanced phase', () => {
    expect(pairPhase([{ subnetId: 'a', phase: 'Ready' }, { subnetId: 'b', phase: 'Failed' }])).toBe('Failed');
    expect(pairPhase([{ subnetId: 'a', phase: 'Ready' }, { subnetId: 'b', phase: 'WaitingForNodeAgent' }])).toBe('WaitingForNodeAgent');
    expect(pairPhase([{ subnetId: 'a', phase: 'Ready' }])).toBe('Ready');
    expect(pairPhase([])).toBe('Pending');
  });
});

describe('desiredChanged', () => {
  it('ignores the generation alone but not the spec or the instance', () => {
    const a = desired(spec());
    expect(desiredChanged(a, { ...a, generation: 2 })).toBe(false);
    expect(desiredChanged(a, { ...a, instanceId: 'i-2' })).toBe(true);
    expect(desiredChanged(a, { ...a, spec: spec({ mtu: 1500 }) })).toBe(true);
  });
});
