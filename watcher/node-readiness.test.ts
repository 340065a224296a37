import type { AttachmentStatus, NodeENI } from '../common/nodeeni.js';
import {
  DEFAULT_TAINT_KEY,
  describeChange,
  gatePatch,
  indexNodeENIs,
  nodeVerdict,
  parseGateLabel,
  parseGateNodeSelector,
  planNode,
  planReadinessGate,
  readinessOn,
  type GateNode,
  type ReadinessGate,
  type Taint,
} from './node-readiness.js';

const gate: ReadinessGate = { taintKey: DEFAULT_TAINT_KEY, labelKey: 'multi-eni.networking.k8s.aws/ready', labelValue: 'true', nodeSelector: {} };
const TAINT = { key: DEFAULT_TAINT_KEY, effect: 'NoSchedule' };
const OTHER = { key: 'dedicated', value: 'telco', effect: 'NoSchedule' };

function eni(name: string, subnets: string[], attachments: AttachmentStatus[] = [], extra: Partial<NodeENI['metadata']> = {}, selector = { ng: 'multus' }): NodeENI {
  return {
    apiVersion: 'networking.k8s.aws/v1alpha1',
    kind: 'NodeENI',
    metadata: { name, generation: 1, ...extra },
    spec: { nodeSelector: selector, subnetIDs: subnets, securityGroupIDs: ['sg-1'] } as NodeENI['spec'],
    status: { attachments },
  };
}

const att = (nodeID: string, subnetID: string, phase: AttachmentStatus['phase'], instanceID = 'i-0a', message?: string): AttachmentStatus => ({
  nodeID,
  subnetID,
  phase,
  instanceID,
  ...(message ? { message } : {}),
});

const ix = (n: NodeENI) => indexNodeENIs([n])[0]!;
const plan = (list: NodeENI[], n: GateNode, g: ReadinessGate) => planNode(indexNodeENIs(list), n, g);

function node(name: string, opts: { labels?: Record<string, string>; taints?: Taint[]; instance?: string; deleting?: boolean } = {}): GateNode {
  return {
    metadata: { name, resourceVersion: '42', labels: opts.labels ?? { ng: 'multus' }, ...(opts.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}) },
    spec: { providerID: `aws:///us-east-1a/${opts.instance ?? 'i-0a'}`, taints: opts.taints ?? [TAINT] },
  };
}

describe('readinessOn', () => {
  it('is ready when every attachment of the node is Ready and as many as desired', () => {
    const n = eni('a', ['subnet-1', 'subnet-2'], [att('n1', 'subnet-1', 'Ready'), att('n1', 'subnet-2', 'Ready')]);
    expect(readinessOn(ix(n), 'n1', 'i-0a')).toEqual({ state: 'ready', detail: '2/2 attachments Ready' });
  });

  it('is pending while fewer than desired are Ready, or before any entry exists', () => {
    const n = eni('a', ['subnet-1', 'subnet-2'], [att('n1', 'subnet-1', 'Ready'), att('n1', 'subnet-2', 'Attaching')]);
    expect(readinessOn(ix(n), 'n1', 'i-0a')).toEqual({ state: 'pending', detail: '1/2 attachments Ready' });
    expect(readinessOn(ix(eni('a', ['subnet-1'])), 'n1', 'i-0a')).toEqual({ state: 'pending', detail: '0/1 attachments Ready' });
  });

  it("counts only the node's own AZ's subnets once the pair has written them (multi-AZ)", () => {
    // Four subnets listed, two in the node's AZ: its pair writes two entries.
    const n = eni('a', ['subnet-1', 'subnet-2', 'subnet-3', 'subnet-4'], [att('n1', 'subnet-1', 'Ready'), att('n1', 'subnet-3', 'Ready')]);
    expect(readinessOn(ix(n), 'n1', 'i-0a').state).toBe('ready');
  });

  it('is failed when an entry failed (e.g. no listed subnet in the node AZ)', () => {
    const n = eni('a', ['subnet-1'], [att('n1', '', 'Failed', 'i-0a', 'no listed subnet is in us-east-1b')]);
    expect(readinessOn(ix(n), 'n1', 'i-0a')).toEqual({ state: 'failed', detail: 'subnet (none): no listed subnet is in us-east-1b' });
  });

  it("ignores entries of another instance under the same node name, and of other nodes", () => {
    const n = eni('a', ['subnet-1'], [att('n1', 'subnet-1', 'Ready', 'i-0old'), att('n2', 'subnet-1', 'Ready')]);
    expect(readinessOn(ix(n), 'n1', 'i-0new').state).toBe('pending');
  });

  it('ignores Releasing entries (a subnet removed from the spec)', () => {
    const n = eni('a', ['subnet-1'], [att('n1', 'subnet-1', 'Ready'), att('n1', 'subnet-9', 'Releasing')]);
    expect(readinessOn(ix(n), 'n1', 'i-0a').state).toBe('ready');
  });

  it('is pending without an instance ID', () => {
    expect(readinessOn(ix(eni('a', ['subnet-1'], [att('n1', 'subnet-1', 'Ready')])), 'n1', undefined).state).toBe('pending');
  });
});

describe('nodeVerdict', () => {
  it('considers only valid, live NodeENIs whose selector matches', () => {
    const list = [
      eni('ready', ['subnet-1'], [att('n1', 'subnet-1', 'Ready')]),
      eni('pending', ['subnet-2']),
      eni('deleting', ['subnet-3'], [], { deletionTimestamp: '2024-01-01T00:00:00Z' }),
      eni('invalid', [], []),
      eni('elsewhere', ['subnet-4'], [], {}, { ng: 'other' }),
    ];
    const v = nodeVerdict(indexNodeENIs(list), node('n1'));
    expect(v.matching).toEqual(['pending', 'ready']);
    expect(v.waiting).toEqual([{ nodeENI: 'pending', state: 'pending', detail: '0/1 attachments Ready' }]);
    expect(v.allReady).toBe(false);
  });
});

describe('planNode', () => {
  const two = (second: AttachmentStatus[]) => [eni('a', ['subnet-1'], [att('n1', 'subnet-1', 'Ready')]), eni('b', ['subnet-2'], second)];

  it('keeps the taint while one of two matching NodeENIs is not Ready; nothing to patch', () => {
    expect(plan(two([att('n1', 'subnet-2', 'Attaching')]), node('n1'), gate)).toBeUndefined();
  });

  it('removes the taint and sets the label once both are Ready', () => {
    const c = plan(two([att('n1', 'subnet-2', 'Ready')]), node('n1'), gate);
    expect(c).toMatchObject({ name: 'n1', resourceVersion: '42', removeTaint: true, label: 'set' });
    expect(describeChange(c!, gate)).toBe(
      `node n1: taint ${DEFAULT_TAINT_KEY} removed, label multi-eni.networking.k8s.aws/ready=true set: every matching NodeENI is Ready on it (a, b)`,
    );
  });

  it('keeps the taint on a node whose NodeENI failed there', () => {
    expect(plan(two([att('n1', '', 'Failed', 'i-0a', 'no listed subnet is in us-east-1b')]), node('n1'), gate)).toBeUndefined();
  });

  it('removes the taint of a node no NodeENI matches, without the label', () => {
    const c = plan(two([]), node('n9', { labels: { ng: 'plain' } }), gate);
    expect(c).toMatchObject({ removeTaint: true });
    expect(c!.label).toBeUndefined();
    expect(describeChange(c!, gate)).toBe(`node n9: taint ${DEFAULT_TAINT_KEY} removed: no NodeENI matches it`);
  });

  it('removes a label that stopped being true, and never adds the taint back', () => {
    const n = node('n1', { taints: [], labels: { ng: 'multus', [gate.labelKey]: 'true' } });
    const c = plan(two([att('n1', 'subnet-2', 'Attaching')]), n, gate);
    expect(c).toMatchObject({ removeTaint: false, label: 'remove' });
    expect(describeChange(c!, gate)).toBe('node n1: label multi-eni.networking.k8s.aws/ready removed: waiting for b (pending: 0/1 attachments Ready)');
  });

  it('removes the label when no NodeENI matches any more', () => {
    const n = node('n1', { taints: [], labels: { ng: 'plain', [gate.labelKey]: 'true' } });
    expect(plan(two([]), n, gate)).toMatchObject({ removeTaint: false, label: 'remove' });
  });

  it('corrects a label with another value; nothing when up to date', () => {
    const ready = two([att('n1', 'subnet-2', 'Ready')]);
    expect(plan(ready, node('n1', { taints: [], labels: { ng: 'multus', [gate.labelKey]: 'no' } }), gate)).toMatchObject({ removeTaint: false, label: 'set' });
    expect(plan(ready, node('n1', { taints: [OTHER], labels: { ng: 'multus', [gate.labelKey]: 'true' } }), gate)).toBeUndefined();
  });

  it('leaves alone nodes being deleted and nodes outside the gate node selector', () => {
    const ready = two([att('n1', 'subnet-2', 'Ready')]);
    expect(plan(ready, node('n1', { deleting: true }), gate)).toBeUndefined();
    expect(plan(ready, node('n1'), { ...gate, nodeSelector: { pool: 'telco' } })).toBeUndefined();
    expect(plan(ready, node('n1', { labels: { ng: 'multus', pool: 'telco' } }), { ...gate, nodeSelector: { pool: 'telco' } })).toMatchObject({ removeTaint: true });
  });
});

describe('planReadinessGate', () => {
  it('names only the nodes that are out of date, sorted', () => {
    const list = [eni('a', ['subnet-1'], [att('n1', 'subnet-1', 'Ready'), att('n3', 'subnet-1', 'Ready', 'i-0c')])];
    const nodes = [node('n3', { instance: 'i-0c' }), node('n2', { instance: 'i-0b' }), node('n1', { taints: [], labels: { ng: 'multus', [gate.labelKey]: 'true' } })];
    expect(planReadinessGate(list, nodes, gate).map((c) => [c.name, c.removeTaint, c.label])).toEqual([['n3', true, 'set']]);
  });

  it('costs one pass at 1,000 nodes and 10 NodeENIs', () => {
    const list = Array.from({ length: 10 }, (_, i) => eni(`e${i}`, ['subnet-1'], Array.from({ length: 1000 }, (_, j) => att(`n${j}`, 'subnet-1', 'Ready', `i-${j}`))));
    const nodes = Array.from({ length: 1000 }, (_, j) => node(`n${j}`, { instance: `i-${j}` }));
    const changes = planReadinessGate(list, nodes, gate);
    expect(changes).toHaveLength(1000);
    expect(changes.every((c) => c.removeTaint && c.label === 'set')).toBe(true);
  });
});

describe('gatePatch', () => {
  it('writes back the other taints, sets the label, and is conditional on the resourceVersion', () => {
    const n = node('n1', { taints: [OTHER, TAINT] });
    const c = plan([eni('a', ['subnet-1'], [att('n1', 'subnet-1', 'Ready')])], n, gate)!;
    expect(gatePatch(n, c, gate)).toEqual({ metadata: { resourceVersion: '42', labels: { [gate.labelKey]: 'true' } }, spec: { taints: [OTHER] } });
  });

  it('only removes the label when that is all', () => {
    const n = node('n1', { taints: [], labels: { ng: 'multus', [gate.labelKey]: 'true' } });
    const c = plan([eni('a', ['subnet-1'])], n, gate)!;
    expect(gatePatch(n, c, gate)).toEqual({ metadata: { resourceVersion: '42', labels: { [gate.labelKey]: null } } });
  });
});

describe('settings', () => {
  it('parses the label and node selector, naming the setting and reason on bad input', () => {
    expect(parseGateLabel('READINESS_GATE_LABEL', 'example.com/ready=yes')).toEqual({ labelKey: 'example.com/ready', labelValue: 'yes' });
    expect(() => parseGateLabel('READINESS_GATE_LABEL', 'ready')).toThrow('READINESS_GATE_LABEL: "ready" must be key=value');
    expect(() => parseGateLabel('READINESS_GATE_LABEL', 'Bad_Prefix/ready=true')).toThrow('READINESS_GATE_LABEL: label key "Bad_Prefix/ready" prefix "Bad_Prefix" is not a DNS subdomain');
    expect(() => parseGateLabel('READINESS_GATE_LABEL', 'a/ready=no way')).toThrow('READINESS_GATE_LABEL: label value "no way" must be letters');
    expect(parseGateNodeSelector('READINESS_GATE_NODE_SELECTOR', 'a=b, c=d')).toEqual({ a: 'b', c: 'd' });
    expect(parseGateNodeSelector('READINESS_GATE_NODE_SELECTOR', '')).toEqual({});
  });
});
