import type { AttachmentStatus, Condition, NodeENI } from '../common/nodeeni.js';
import { computeStatus, invalidSpecReported, statusChanged, subnetCount, desiredOnNode } from './conditions.js';

const T0 = '2024-05-01T10:00:00Z';
const T1 = '2024-05-01T11:00:00Z';

function nodeENI(spec: Record<string, unknown>, attachments: AttachmentStatus[] = [], extra: Partial<NodeENI['metadata']> = {}, conditions?: Condition[]): NodeENI {
  return {
    apiVersion: 'networking.k8s.aws/v1alpha1',
    kind: 'NodeENI',
    metadata: { name: 'x', generation: 3, ...extra },
    spec: { nodeSelector: { a: 'b' }, subnetIDs: ['subnet-1', 'subnet-2'], securityGroupIDs: ['sg-1'], ...spec } as NodeENI['spec'],
    status: { attachments, ...(conditions ? { conditions } : {}) },
  };
}

const att = (nodeID: string, subnetID: string, phase: AttachmentStatus['phase'], message?: string): AttachmentStatus => ({
  nodeID,
  subnetID,
  phase,
  ...(message ? { message } : {}),
});

function cond(s: ReturnType<typeof computeStatus>, type: string): Condition {
  const c = s.conditions.find((x) => x.type === type);
  if (!c) throw new Error(`no ${type} condition`);
  return c;
}

describe('subnetCount', () => {
  it('counts IDs and names once each, a name as one subnet', () => {
    expect(subnetCount({ nodeSelector: { ng: 'a' }, subnetID: 'subnet-1', subnetIDs: ['subnet-1', 'subnet-2'], subnetName: 'n', securityGroupIDs: ['sg-1'] })).toBe(3);
    expect(subnetCount({ nodeSelector: { ng: 'a' }, subnetNames: ['a', 'b'], securityGroupIDs: ['sg-1'] })).toBe(2);
  });
});

describe('computeStatus', () => {
  it('is Ready when every desired attachment is ready', () => {
    const n = nodeENI({}, [att('n1', 'subnet-1', 'Ready'), att('n1', 'subnet-2', 'Ready'), att('n2', 'subnet-1', 'Ready'), att('n2', 'subnet-2', 'Ready')]);
    const s = computeStatus({ nodeENI: n, desiredNodes: ['n1', 'n2'], now: T0 });
    expect(s).toMatchObject({ observedGeneration: 3, ready: '4/4', readyCount: 4, desiredCount: 4, nodeCount: 2 });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'True', reason: 'AllAttachmentsReady', observedGeneration: 3, lastTransitionTime: T0 });
    expect(cond(s, 'Progressing')).toMatchObject({ status: 'False', reason: 'AllAttachmentsReady' });
    expect(cond(s, 'Degraded')).toMatchObject({ status: 'False' });
  });

  it('is Progressing while attachments converge', () => {
    const n = nodeENI({}, [att('n1', 'subnet-1', 'Ready'), att('n1', 'subnet-2', 'Attaching')]);
    const s = computeStatus({ nodeENI: n, desiredNodes: ['n1', 'n2'], now: T0 });
    expect(s.ready).toBe('1/4');
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'Converging', message: '1/4 attachments ready' });
    expect(cond(s, 'Progressing')).toMatchObject({ status: 'True', reason: 'Converging' });
  });

  it('says which limit a position waits on when the instance has no free slot (Ready=False WaitingForDeviceSlot)', () => {
    const msg = 'no free device index at or above 2 on i-1 (its instance type takes 3 network interfaces); in use: 0, 1, 2';
    const n = nodeENI({}, [att('n1', 'subnet-1', 'Ready'), att('n1', 'subnet-2', 'Pending', msg)]);
    const s = computeStatus({ nodeENI: n, desiredNodes: ['n1'], now: T0 });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'WaitingForDeviceSlot', message: `1/2 attachments ready; waiting: node n1 subnet subnet-2: ${msg}` });
    expect(cond(s, 'Progressing').status).toBe('True');
    expect(cond(s, 'Degraded').status).toBe('False');
  });

  it('is Degraded with the first failure quoted (the AWS error code and message the workflow recorded)', () => {
    const aws = 'InvalidSubnetID.NotFound: The subnet ID subnet-2 does not exist';
    const n = nodeENI({}, [att('n1', 'subnet-1', 'Ready'), att('n1', 'subnet-2', 'Failed', aws)]);
    const s = computeStatus({ nodeENI: n, desiredNodes: ['n1'], now: T0 });
    expect(cond(s, 'Degraded')).toMatchObject({
      status: 'True',
      reason: 'AttachmentFailed',
      message: `1 attachment(s) failed; first: node n1 subnet subnet-2: ${aws}`,
    });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'AttachmentFailed' });
    expect(cond(s, 'Ready').message).toContain(aws);
    // Nothing else is pending: only a change to the spec or the subnet helps.
    expect(cond(s, 'Progressing')).toMatchObject({ status: 'False', reason: 'AttachmentFailed' });
  });

  it('counts entries of nodes no longer desired as being released, not as ready', () => {
    const n = nodeENI({ subnetIDs: ['subnet-1'] }, [att('n1', 'subnet-1', 'Ready'), att('old', 'subnet-1', 'Releasing')]);
    const s = computeStatus({ nodeENI: n, desiredNodes: ['n1'], now: T0 });
    expect(s.ready).toBe('1/1');
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'Converging', message: '1/1 attachments ready; releasing 1' });
    expect(cond(s, 'Progressing').status).toBe('True');
  });

  it('reports no matching nodes', () => {
    const s = computeStatus({ nodeENI: nodeENI({}), desiredNodes: [], now: T0 });
    expect(s).toMatchObject({ ready: '0/0', nodeCount: 0 });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'True', reason: 'NoMatchingNodes' });
  });

  it('reads Go-controller entries (status "attached", no phase) as ready', () => {
    const n = nodeENI({ subnetIDs: ['subnet-1'] }, [{ nodeID: 'n1', subnetID: 'subnet-1', status: 'attached' }]);
    expect(computeStatus({ nodeENI: n, desiredNodes: ['n1'], now: T0 }).ready).toBe('1/1');
  });

  it('names the invalid field in a Degraded InvalidSpec condition and leaves the counts to what is held', () => {
    const n = nodeENI({ dpdkDriver: 'nope' }, [att('n1', 'subnet-1', 'Ready')]);
    const s = computeStatus({ nodeENI: n, desiredNodes: [], now: T0 });
    const d = cond(s, 'Degraded');
    expect(d).toMatchObject({ status: 'True', reason: 'InvalidSpec', observedGeneration: 3 });
    expect(d.message).toContain('spec.dpdkDriver');
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(s).toMatchObject({ ready: '1/1', nodeCount: 1 });
  });

  it('reports a deletion in progress', () => {
    const n = nodeENI({}, [att('n1', 'subnet-1', 'Releasing')], { deletionTimestamp: T0 });
    const s = computeStatus({ nodeENI: n, desiredNodes: [], now: T0 });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'Deleting' });
    expect(cond(s, 'Progressing')).toMatchObject({ status: 'True', reason: 'Deleting' });
  });

  it('keeps lastTransitionTime while a condition keeps its status, and moves it when the status flips', () => {
    const first = computeStatus({ nodeENI: nodeENI({ subnetIDs: ['subnet-1'] }, [att('n1', 'subnet-1', 'Attaching')]), desiredNodes: ['n1'], now: T0 });
    // Same status (False), other message: the time stays.
    const later = nodeENI({ subnetIDs: ['subnet-1'] }, [att('n1', 'subnet-1', 'Configuring')], {}, first.conditions);
    const second = computeStatus({ nodeENI: later, desiredNodes: ['n1', 'n2'], now: T1 });
    expect(cond(second, 'Ready').lastTransitionTime).toBe(T0);
    // Ready flips to True: the time moves.
    const done = nodeENI({ subnetIDs: ['subnet-1'] }, [att('n1', 'subnet-1', 'Ready')], {}, second.conditions);
    const third = computeStatus({ nodeENI: done, desiredNodes: ['n1'], now: T1 });
    expect(cond(third, 'Ready')).toMatchObject({ status: 'True', lastTransitionTime: T1 });
    expect(cond(third, 'Degraded').lastTransitionTime).toBe(T0);
  });
});

describe('statusChanged', () => {
  const n = nodeENI({ subnetIDs: ['subnet-1'] }, [att('n1', 'subnet-1', 'Ready')]);
  const s = computeStatus({ nodeENI: n, desiredNodes: ['n1'], now: T0 });

  it('is false when the object already holds the computed status (a resync writes nothing)', () => {
    const current = { ...n.status, ...s };
    expect(statusChanged(current, s)).toBe(false);
    // Recomputing later from the written status yields the same status again.
    const again = computeStatus({ nodeENI: { ...n, status: current }, desiredNodes: ['n1'], now: T1 });
    expect(statusChanged(current, again)).toBe(false);
  });

  it('is true when anything the watcher owns differs', () => {
    expect(statusChanged(undefined, s)).toBe(true);
    expect(statusChanged({ ...s, observedGeneration: 2 }, s)).toBe(true);
    expect(statusChanged({ ...s, ready: '0/1' }, s)).toBe(true);
    expect(statusChanged({ ...s, nodeCount: 5 }, s)).toBe(true);
    expect(statusChanged({ ...s, conditions: s.conditions.slice(1) }, s)).toBe(true);
    expect(statusChanged({ ...s, conditions: s.conditions.map((c) => (c.type === 'Ready' ? { ...c, message: 'other' } : c)) }, s)).toBe(true);
  });
});

describe('computeStatus with listLimit (attachments from the NodeENIAttachment objects)', () => {
  const all = [att('n1', 'subnet-1', 'Ready'), att('n1', 'subnet-2', 'Ready'), att('n2', 'subnet-1', 'Ready'), att('n2', 'subnet-2', 'Attaching')];
  it('counts every attachment, lists up to the limit, and adds the AttachmentsTruncated condition', () => {
    const s = computeStatus({ nodeENI: nodeENI({}, all), desiredNodes: ['n1', 'n2'], now: T0, listLimit: 2 });
    expect(s).toMatchObject({ ready: '3/4', attachments: all.slice(0, 2) });
    expect(cond(s, 'AttachmentsTruncated')).toMatchObject({ status: 'True', reason: 'Truncated', lastTransitionTime: T0, observedGeneration: 3 });
    const whole = computeStatus({ nodeENI: nodeENI({}, all), desiredNodes: ['n1', 'n2'], now: T0, listLimit: 50 });
    expect(whole.attachments).toEqual(all);
    expect(cond(whole, 'AttachmentsTruncated')).toMatchObject({ status: 'False', reason: 'AllListed' });
  });
  it('a changed list is a change to write; the same list is not', () => {
    const s = computeStatus({ nodeENI: nodeENI({}, all), desiredNodes: ['n1', 'n2'], now: T0, listLimit: 3 });
    expect(statusChanged({ ...s }, s)).toBe(false);
    expect(statusChanged({ ...s, attachments: all.slice(0, 2) }, s)).toBe(true);
    // Without a limit the list is not the watcher's: whatever status.attachments holds is no change.
    const plain = computeStatus({ nodeENI: nodeENI({}, all), desiredNodes: ['n1', 'n2'], now: T0 });
    expect(plain.attachments).toBeUndefined();
    expect(statusChanged({ ...plain, attachments: [] }, plain)).toBe(false);
  });
});

describe('invalidSpecReported', () => {
  it('is true only when Degraded says InvalidSpec for the current generation', () => {
    const bad = nodeENI({ dpdkDriver: 'nope' });
    const s = computeStatus({ nodeENI: bad, desiredNodes: [], now: T0 });
    expect(invalidSpecReported(bad)).toBe(false);
    expect(invalidSpecReported({ ...bad, status: s })).toBe(true);
    expect(invalidSpecReported({ ...bad, metadata: { ...bad.metadata, generation: 4 }, status: s })).toBe(false);
  });
});

describe('desiredOnNode', () => {
  const spec = { ids: ['subnet-1'], names: ['user-plane'] }; // subnetIDs: [subnet-1], subnetNames: [user-plane]
  const entry = (subnetID: string, phase: AttachmentStatus['phase'] = 'Ready') => att('n1', subnetID, phase);
  it('counts the spec before the pair has written entries', () => {
    expect(desiredOnNode(spec, [])).toBe(2);
  });
  it('counts a subnet named by ID and by name once, once the pair reports one entry for it', () => {
    expect(desiredOnNode(spec, [entry('subnet-1')])).toBe(1);
    const r = computeStatus({ nodeENI: nodeENI({ subnetIDs: ['subnet-1'], subnetNames: ['user-plane'] }, [entry('subnet-1')]), desiredNodes: ['n1'], now: T1 });
    expect(r.ready).toBe('1/1');
    expect(cond(r, 'Ready').status).toBe('True');
  });
  it('a multi-AZ list by ID: the node counts the subnets its pair resolved (those of its AZ)', () => {
    const ids = { ids: ['subnet-a1', 'subnet-b1', 'subnet-a2', 'subnet-b2'], names: [] };
    expect(desiredOnNode(ids, [entry('subnet-a1'), entry('subnet-a2')])).toBe(2);
    const r = computeStatus({ nodeENI: nodeENI({ subnetIDs: ids.ids }, [entry('subnet-a1'), entry('subnet-a2')]), desiredNodes: ['n1'], now: T1 });
    expect(r.ready).toBe('2/2');
    expect(cond(r, 'Ready').status).toBe('True');
  });
  it('does not count entries being released, and never more than the spec asks', () => {
    expect(desiredOnNode(spec, [entry('subnet-1'), entry('subnet-9', 'Releasing')])).toBe(1);
    expect(desiredOnNode(spec, [entry('subnet-1'), entry('subnet-2'), entry('subnet-3')])).toBe(2);
  });
});
