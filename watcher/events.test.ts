import { buildNodeENIEvent } from './events.js';

describe('buildNodeENIEvent', () => {
  const now = new Date('2024-05-01T10:00:00Z');

  it('points at the NodeENI and names the controller as source', () => {
    const e = buildNodeENIEvent({ name: 'upf', uid: 'u-1' }, { type: 'Warning', reason: 'InvalidSpec', message: 'spec.mtu: bad' }, { now, instance: 'pod-1' });
    expect(e.metadata.namespace).toBe('default');
    expect(e.metadata.name).toMatch(/^upf\.[0-9a-f]+$/);
    expect(e.involvedObject).toEqual({ apiVersion: 'networking.k8s.aws/v1alpha1', kind: 'NodeENI', name: 'upf', uid: 'u-1' });
    expect(e).toMatchObject({
      type: 'Warning',
      reason: 'InvalidSpec',
      message: 'spec.mtu: bad',
      source: { component: 'multi-eni-controller', host: 'pod-1' },
      reportingComponent: 'multi-eni-controller',
      reportingInstance: 'pod-1',
      count: 1,
      firstTimestamp: now,
      lastTimestamp: now,
    });
  });

  it('gives each Event its own name and keeps names and messages within the API limits', () => {
    const long = 'n'.repeat(253);
    const a = buildNodeENIEvent({ name: long }, { type: 'Normal', reason: 'R', message: 'x'.repeat(5000) }, { now });
    const b = buildNodeENIEvent({ name: long }, { type: 'Normal', reason: 'R', message: 'x' }, { now });
    expect(a.metadata.name).not.toBe(b.metadata.name);
    expect(a.metadata.name!.length).toBeLessThanOrEqual(253);
    expect(a.message!.length).toBeLessThanOrEqual(1024);
    expect(a.involvedObject.uid).toBeUndefined();
  });
});
