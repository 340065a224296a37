import {
  attachedAsRequested,
  attachmentStatuses,
  configureKey,
  desiredChanged,
  isLiveAttachment,
  mergeEc2View,
  nextFreeIndex,
  nextStep,
  pairPhase,
  planDeviceIndexes,
  planPair,
  securityGroupsDiffer,
} from './plan.js';
import type { EniInfo } from '../common/ec2-contract.js';
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
  it('keeps the index of an ENI that stays attached and plans no other position onto it', () => {
    // Position 0 was bumped to 2 earlier and stays there; position 1 (asks for 2) moves past it.
    expect(planDeviceIndexes(1, 2, [0], [2, undefined])).toEqual([2, 3]);
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

const eni = (eniId: string, subnetId: string, attachment?: EniInfo['attachment']): EniInfo => ({
  eniId,
  subnetId,
  status: attachment ? 'in-use' : 'available',
  macAddress: `02:${eniId.slice(-2)}`,
  securityGroupIds: ['sg-1'],
  tags: {},
  ...(attachment ? { attachment } : {}),
});
const subnets = (...ids: string[]) => ids.map((id) => ({ id, cidr: `cidr-${id}` }));

describe('isLiveAttachment', () => {
  it('is false without an attachment and while detaching or detached', () => {
    expect(isLiveAttachment(undefined)).toBe(false);
    expect(isLiveAttachment({ status: 'detaching' })).toBe(false);
    expect(isLiveAttachment({ status: 'detached' })).toBe(false);
    expect(isLiveAttachment({ status: 'attaching' })).toBe(true);
    expect(isLiveAttachment({ status: 'attached' })).toBe(true);
  });
});

describe('mergeEc2View', () => {
  it('forgets an ENI EC2 no longer has and an attachment that is going away; keeps the rest as EC2 reports it', () => {
    const records: EniRecord[] = [
      { subnetId: 's1', eniId: 'eni-01', attachmentId: 'a1', instanceId: 'i-1', deviceIndex: 1, configuredKey: 'k', phase: 'Ready' },
      { subnetId: 's2', eniId: 'eni-02', attachmentId: 'a2', instanceId: 'i-1', deviceIndex: 2, configuredKey: 'k', phase: 'Ready' },
      { subnetId: 's3', eniId: 'eni-03', attachmentId: 'a3', instanceId: 'i-1', deviceIndex: 3, phase: 'Ready' },
    ];
    const merged = mergeEc2View(records, [eni('eni-02', 's2', { attachmentId: 'a2', status: 'detaching' }), eni('eni-03', 's3', { attachmentId: 'a9', instanceId: 'i-1', deviceIndex: 4, status: 'attached' })]);
    expect(merged[0]).toMatchObject({ eniId: undefined, attachmentId: undefined, phase: 'Pending' });
    expect(merged[1]).toMatchObject({ eniId: 'eni-02', attachmentId: undefined, configuredKey: undefined });
    expect(merged[2]).toMatchObject({ eniId: 'eni-03', attachmentId: 'a9', deviceIndex: 4 });
    expect(records[0]!.eniId).toBe('eni-01'); // the input is not changed
  });
});

describe('planPair', () => {
  it('plans one record per resolved subnet in spec order, with indexes past those in use', () => {
    const p = planPair([], { subnets: subnets('s1', 's2'), owned: [], usedDeviceIndexes: [0, 1] }, 'i-1', 1);
    expect(p.records.map((r) => [r.subnetId, r.phase, r.subnetCidr])).toEqual([
      ['s1', 'Pending', 'cidr-s1'],
      ['s2', 'Pending', 'cidr-s2'],
    ]);
    expect(p.planned).toEqual([2, 3]);
    expect(p.used).toEqual(expect.arrayContaining([0, 1, 2, 3]));
  });
  it('adopts an ENI found by tags for a subnet without one, keeping its index', () => {
    const found = eni('eni-07', 's1', { attachmentId: 'a7', instanceId: 'i-1', deviceIndex: 1, status: 'attached' });
    const p = planPair([], { subnets: subnets('s1'), owned: [found], usedDeviceIndexes: [0, 1] }, 'i-1', 1);
    expect(p.adopt).toEqual([expect.objectContaining({ kept: true, found })]);
    expect(p.records[0]).toMatchObject({ eniId: 'eni-07', attachmentId: 'a7', createdHere: false });
    expect(p.planned).toEqual([1]);
    expect(p.unwanted).toEqual([]);
  });
  it('releases ENIs of subnets no longer named and second ENIs of a subnet; their indexes are free again', () => {
    const held: EniRecord[] = [{ subnetId: 's1', eniId: 'eni-01', attachmentId: 'a1', instanceId: 'i-1', deviceIndex: 1, phase: 'Ready' }];
    const owned = [eni('eni-01', 's1', { attachmentId: 'a1', instanceId: 'i-1', deviceIndex: 1, status: 'attached' }), eni('eni-05', 's2', { attachmentId: 'a5', instanceId: 'i-1', deviceIndex: 2, status: 'attached' })];
    const p = planPair(held, { subnets: subnets('s2'), owned, usedDeviceIndexes: [0, 1, 2] }, 'i-1', 1);
    expect(p.records.map((r) => r.eniId)).toEqual(['eni-05']);
    expect(p.unwanted.map((r) => r.eniId)).toEqual(['eni-01']);
    expect(p.adopt.map((a) => [a.found.eniId, a.kept])).toEqual([['eni-05', true]]);
    const dup = planPair(held, { subnets: subnets('s1'), owned: [owned[0]!, eni('eni-06', 's1')], usedDeviceIndexes: [0, 1] }, 'i-1', 1);
    expect(dup.unwanted.map((r) => r.eniId)).toEqual(['eni-06']);
    expect(dup.adopt.map((a) => [a.found.eniId, a.kept])).toEqual([['eni-06', false]]);
  });
  it('replaces the placeholders of a failed resolve with the resolved subnets', () => {
    const p = planPair([{ subnetId: 'user-plane', phase: 'Failed', message: 'x' }], { subnets: subnets('s1'), owned: [], usedDeviceIndexes: [] }, 'i-1', 1);
    expect(p.records.map((r) => r.subnetId)).toEqual(['s1']);
  });
});

describe('attachedAsRequested', () => {
  const r: EniRecord = { subnetId: 's1', eniId: 'e', attachmentId: 'a', instanceId: 'i-1', deviceIndex: 3, phase: 'Ready' };
  it('keeps an adopted ENI at or past the index asked for; re-attaches one before it or on another instance', () => {
    expect(attachedAsRequested(r, 'i-1', 2)).toBe(true);
    expect(attachedAsRequested(r, 'i-1', 4)).toBe(false);
    expect(attachedAsRequested(r, 'i-2', 2)).toBe(false);
  });
  it('follows the index the spec asked for once this workflow attached it', () => {
    expect(attachedAsRequested({ ...r, requestedIndex: 2 }, 'i-1', 2)).toBe(true);
    expect(attachedAsRequested({ ...r, requestedIndex: 2 }, 'i-1', 1)).toBe(false);
  });
});

describe('securityGroupsDiffer / nextFreeIndex', () => {
  it('ignores order of security groups', () => {
    expect(securityGroupsDiffer({ subnetId: 's', securityGroupIds: ['b', 'a'], phase: 'Ready' }, ['a', 'b'])).toBe(false);
    expect(securityGroupsDiffer({ subnetId: 's', securityGroupIds: ['a'], phase: 'Ready' }, ['a', 'b'])).toBe(true);
  });
  it('moves past every index in use and reserves the one it returns', () => {
    const used = new Set([3, 4, 6]);
    expect(nextFreeIndex(2, used)).toBe(5);
    expect(used.has(2) && used.has(5)).toBe(true);
  });
});

describe('nextStep', () => {
  it('retries a failure on a growing backoff, waits for an absent node agent, else rests', () => {
    const failed: EniRecord[] = [{ subnetId: 's', phase: 'Failed' }];
    expect(nextStep(failed, 0, 0)).toEqual({ kind: 'retry', why: 'failed', delayMs: 60_000 });
    expect(nextStep(failed, 9, 0)).toEqual({ kind: 'retry', why: 'failed', delayMs: 3_600_000 });
    expect(nextStep([{ subnetId: 's', phase: 'WaitingForNodeAgent' }], 0, 2)).toEqual({ kind: 'retry', why: 'node agent', delayMs: 60_000 });
    expect(nextStep([{ subnetId: 's', phase: 'Ready' }], 0, 0)).toEqual({ kind: 'rest' });
  });
  it('looks again for a device slot soon, growing to a minute; a failure still comes first', () => {
    const waiting: EniRecord[] = [{ subnetId: 's', phase: 'Pending', waitingForSlot: true }];
    expect(nextStep(waiting, 0, 0, 0)).toEqual({ kind: 'retry', why: 'device slot', delayMs: 10_000 });
    expect(nextStep(waiting, 0, 0, 7)).toEqual({ kind: 'retry', why: 'device slot', delayMs: 60_000 });
    expect(nextStep([...waiting, { subnetId: 't', phase: 'Failed' }], 0, 0, 0)).toMatchObject({ why: 'failed' });
  });
});
