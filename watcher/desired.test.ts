import type { NodeENI } from '../common/nodeeni.js';
import { lifecycleWorkflowId } from '../common/names.js';
import {
  desiredPairs,
  instanceIdFromProviderID,
  missingNodeENIs,
  nodeENIState,
  pairKey,
  pairsFromStatus,
  planReconcile,
  selectorMatches,
  type NodeLike,
} from './desired.js';

function nodeENI(name: string, spec: Record<string, unknown>, extra: Partial<NodeENI['metadata']> = {}, status?: NodeENI['status']): NodeENI {
  return {
    apiVersion: 'networking.k8s.aws/v1alpha1',
    kind: 'NodeENI',
    metadata: { name, uid: `uid-${name}`, generation: 1, ...extra },
    spec: { nodeSelector: { role: 'upf' }, subnetID: 'subnet-0a', securityGroupIDs: ['sg-1'], ...spec } as NodeENI['spec'],
    ...(status ? { status } : {}),
  };
}

/** providerID null: the node has none (undefined would take the default). */
function node(name: string, labels: Record<string, string> = { role: 'upf' }, providerID: string | null = `aws:///us-east-1a/i-${name}`, deleting = false): NodeLike {
  return {
    metadata: { name, labels, ...(deleting ? { deletionTimestamp: new Date() } : {}) },
    spec: providerID === null ? {} : { providerID },
  };
}

describe('instanceIdFromProviderID', () => {
  it('takes the instance ID from an AWS providerID', () => {
    expect(instanceIdFromProviderID('aws:///us-east-1a/i-0abc')).toBe('i-0abc');
    expect(instanceIdFromProviderID('aws:///eu-west-3c/i-0123456789abcdef0')).toBe('i-0123456789abcdef0');
  });
  it('returns undefined for anything else', () => {
    expect(instanceIdFromProviderID(undefined)).toBeUndefined();
    expect(instanceIdFromProviderID('')).toBeUndefined();
    expect(instanceIdFromProviderID('gce://project/zone/vm-1')).toBeUndefined();
    expect(instanceIdFromProviderID('kind://docker/kind/kind-worker')).toBeUndefined();
    expect(instanceIdFromProviderID('aws:///us-east-1a/')).toBeUndefined();
    expect(instanceIdFromProviderID('aws:///us-east-1a/i-0abc/extra')).toBeUndefined();
  });
});

describe('selectorMatches', () => {
  it('requires every selector label with the same value', () => {
    expect(selectorMatches({ a: '1', b: '2' }, { a: '1', b: '2', c: '3' })).toBe(true);
    expect(selectorMatches({ a: '1', b: '2' }, { a: '1' })).toBe(false);
    expect(selectorMatches({ a: '1' }, { a: '2' })).toBe(false);
    expect(selectorMatches({ a: '1' }, undefined)).toBe(false);
  });
  it('matches every node with an empty selector, as Kubernetes does', () => {
    expect(selectorMatches({}, {})).toBe(true);
    expect(selectorMatches(undefined, { x: 'y' })).toBe(true);
  });
});

describe('desiredPairs', () => {
  it('pairs each valid live NodeENI with each matching node that has an instance ID', () => {
    const d = desiredPairs(
      [nodeENI('a', {}), nodeENI('b', { nodeSelector: { role: 'other' } })],
      [node('n1'), node('n2'), node('n3', { role: 'other' })],
    );
    expect([...d.keys()].sort()).toEqual(['nodeeni/a/n1', 'nodeeni/a/n2', 'nodeeni/b/n3']);
    const p = d.get('nodeeni/a/n1')!;
    expect(p).toMatchObject({ nodeENI: 'a', nodeName: 'n1', uid: 'uid-a', generation: 1, instanceId: 'i-n1' });
    // The spec is validated and defaulted: the workflow never parses it again.
    expect(p.spec.deviceIndex).toBe(1);
    expect(p.spec.deleteOnTermination).toBe(true);
  });

  it('skips nodes without an AWS providerID, nodes being deleted and NodeENIs being deleted or invalid', () => {
    const d = desiredPairs(
      [
        nodeENI('live', {}),
        nodeENI('gone', {}, { deletionTimestamp: '2024-01-01T00:00:00Z' }),
        nodeENI('bad', { mtu: 100 }),
      ],
      [node('ok'), node('noid', undefined, null), node('kind', undefined, 'kind://docker/x/y'), node('dying', undefined, 'aws:///us-east-1a/i-dying', true)],
    );
    expect([...d.keys()]).toEqual(['nodeeni/live/ok']);
  });
});

describe('pairKey', () => {
  const base = desiredPairs([nodeENI('a', {})], [node('n1')]).get('nodeeni/a/n1')!;
  it('is stable whatever the key order of the spec', () => {
    const reordered = { ...base, spec: Object.fromEntries(Object.entries(base.spec).reverse()) as typeof base.spec };
    expect(pairKey(reordered)).toBe(pairKey(base));
  });
  it('changes with the spec, the instance, the generation and the uid', () => {
    const k = pairKey(base);
    expect(pairKey({ ...base, spec: { ...base.spec, mtu: 9001 } })).not.toBe(k);
    expect(pairKey({ ...base, instanceId: 'i-other' })).not.toBe(k);
    expect(pairKey({ ...base, generation: 2 })).not.toBe(k);
    expect(pairKey({ ...base, uid: 'uid-new' })).not.toBe(k);
  });
});

describe('pairsFromStatus / nodeENIState', () => {
  it('names one pair per node found in status.attachments', () => {
    const n = nodeENI('a', {}, {}, {
      attachments: [
        { nodeID: 'n1', subnetID: 'subnet-1' },
        { nodeID: 'n1', subnetID: 'subnet-2' },
        { nodeID: 'n2', subnetID: 'subnet-1' },
      ],
    });
    expect(pairsFromStatus(n).sort()).toEqual(['nodeeni/a/n1', 'nodeeni/a/n2']);
  });
  it('classifies NodeENIs', () => {
    expect(nodeENIState(nodeENI('a', {}))).toBe('live');
    expect(nodeENIState(nodeENI('a', { subnetID: undefined }))).toBe('invalid');
    expect(nodeENIState(nodeENI('a', { mtu: 100 }, { deletionTimestamp: new Date() }))).toBe('deleting');
  });
});

describe('planReconcile', () => {
  const nenis = [nodeENI('a', {})];
  const nodes = [node('n1'), node('n2')];
  const desired = desiredPairs(nenis, nodes);
  const id1 = lifecycleWorkflowId('a', 'n1');
  const id2 = lifecycleWorkflowId('a', 'n2');
  const sentAll = new Map([...desired].map(([id, d]) => [id, pairKey(d)]));

  it('signals every desired pair not sent yet (a fresh process re-sends each once)', () => {
    const plan = planReconcile({ desired, sent: new Map(), known: [], nodeENIs: nenis, nodes });
    expect(plan.signals.map((d) => d.nodeName)).toEqual(['n1', 'n2']);
    expect(plan.releases).toEqual([]);
  });

  it('sends nothing when nothing changed', () => {
    const plan = planReconcile({ desired, sent: sentAll, known: [id1, id2], nodeENIs: nenis, nodes });
    expect(plan).toEqual({ signals: [], blocked: [], releases: [] });
  });

  it('signals only the pair whose key changed', () => {
    const changedNodes = [node('n1'), { ...node('n2'), spec: { providerID: 'aws:///us-east-1b/i-replaced' } }];
    const plan = planReconcile({ desired: desiredPairs(nenis, changedNodes), sent: sentAll, known: [id1, id2], nodeENIs: nenis, nodes: changedNodes });
    expect(plan.signals.map((d) => [d.nodeName, d.instanceId])).toEqual([['n2', 'i-replaced']]);
  });

  it('releases a known pair whose node no longer matches, lost its providerID, is being deleted or is gone', () => {
    const cases: Array<[NodeLike[], string]> = [
      [[node('n1'), node('n2', { role: 'none' })], 'node n2 no longer matches the nodeSelector'],
      [[node('n1'), node('n2', undefined, null)], 'node n2 has no AWS instance ID (spec.providerID)'],
      [[node('n1'), node('n2', undefined, 'aws:///us-east-1a/i-n2', true)], 'node n2 is being deleted'],
      [[node('n1')], 'node n2 was deleted'],
    ];
    for (const [ns, reason] of cases) {
      const plan = planReconcile({ desired: desiredPairs(nenis, ns), sent: sentAll, known: [id1, id2], nodeENIs: nenis, nodes: ns });
      expect(plan.signals).toEqual([]);
      expect(plan.releases).toEqual([{ workflowId: id2, nodeENI: 'a', nodeName: 'n2', reason }]);
    }
  });

  it('releases every pair of a NodeENI being deleted, once', () => {
    const deleting = [nodeENI('a', {}, { deletionTimestamp: '2024-01-01T00:00:00Z' })];
    const input = { desired: desiredPairs(deleting, nodes), sent: sentAll, known: [id1, id2, id1], nodeENIs: deleting, nodes };
    expect(planReconcile(input).releases.map((r) => [r.workflowId, r.reason])).toEqual([
      [id1, 'NodeENI a is being deleted'],
      [id2, 'NodeENI a is being deleted'],
    ]);
    // Already told: not told again.
    expect(planReconcile({ ...input, released: new Set([id1, id2]) }).releases).toEqual([]);
  });

  it('neither signals nor releases anything of a NodeENI whose spec became invalid', () => {
    const invalid = [nodeENI('a', { mtu: 100 })];
    const plan = planReconcile({ desired: desiredPairs(invalid, nodes), sent: sentAll, known: [id1, id2], nodeENIs: invalid, nodes });
    expect(plan).toEqual({ signals: [], blocked: [], releases: [] });
  });

  it('releases pairs of a NodeENI that no longer exists only when the watcher sees every NodeENI', () => {
    const orphan = lifecycleWorkflowId('vanished', 'n1');
    const base = { desired, sent: sentAll, known: [id1, id2, orphan], nodeENIs: nenis, nodes };
    expect(planReconcile(base).releases).toEqual([]);
    expect(planReconcile({ ...base, releaseOrphans: true }).releases).toEqual([
      { workflowId: orphan, nodeENI: 'vanished', nodeName: 'n1', reason: 'NodeENI vanished no longer exists' },
    ]);
  });

  it('a scoped watcher releases the pairs of a NodeENI the apiserver confirmed gone, and leaves those out of its scope', () => {
    const gone = lifecycleWorkflowId('deleted', 'n1');
    const other = lifecycleWorkflowId('other-shard', 'n1');
    const known = [id1, id2, gone, other];
    expect(missingNodeENIs(known, nenis)).toEqual(['deleted', 'other-shard']);
    const plan = planReconcile({ desired, sent: sentAll, known, nodeENIs: nenis, nodes, confirmedGone: new Set(['deleted']) });
    expect(plan.releases).toEqual([{ workflowId: gone, nodeENI: 'deleted', nodeName: 'n1', reason: 'NodeENI deleted no longer exists' }]);
  });

  it('holds back a desired pair whose release is still in flight', () => {
    const plan = planReconcile({ desired, sent: new Map([[id1, sentAll.get(id1)!]]), known: [id1, id2], released: new Set([id2]), nodeENIs: nenis, nodes });
    expect(plan.signals).toEqual([]);
    expect(plan.blocked.map((d) => d.nodeName)).toEqual(['n2']);
    expect(plan.releases).toEqual([]);
  });

  it('ignores workflow IDs that are not lifecycle IDs', () => {
    const plan = planReconcile({ desired, sent: sentAll, known: [id1, id2, 'something-else', 'nodeeni/x'], nodeENIs: nenis, nodes, releaseOrphans: true });
    expect(plan.releases).toEqual([]);
  });
});
