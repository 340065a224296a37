import { attachmentObjectName, attachmentSelector, labelValue, pairObjectContent, pairObjectManifest, pairPhase } from './nodeeni-attachment.js';
import type { AttachmentStatus } from './nodeeni.js';

const entry = (subnetID: string, phase: AttachmentStatus['phase'], extra: Partial<AttachmentStatus> = {}): AttachmentStatus => ({ nodeID: 'n1', subnetID, phase, ...extra });

describe('attachmentObjectName', () => {
  it('is <nodeENI>.<node> for the usual names', () => {
    expect(attachmentObjectName('multus-eni', 'ip-10-0-1-5.ec2.internal')).toBe('multus-eni.ip-10-0-1-5.ec2.internal');
  });
  it('keeps two pairs apart when a NodeENI name has a dot (a.b + c vs a + b.c)', () => {
    const x = attachmentObjectName('a.b', 'c');
    const y = attachmentObjectName('a', 'b.c');
    expect(y).toBe('a.b.c');
    expect(x).not.toBe(y);
    expect(x).toMatch(/^a\.b\.c\.[0-9a-f]{10}$/);
  });
  it('cuts names past 253 characters to a valid DNS subdomain, unique per pair', () => {
    const long = 'x'.repeat(200);
    const a = attachmentObjectName(long, `${'y'.repeat(100)}-1`);
    const b = attachmentObjectName(long, `${'y'.repeat(100)}-2`);
    for (const n of [a, b]) {
      expect(n.length).toBeLessThanOrEqual(253);
      expect(n).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    }
    expect(a).not.toBe(b);
  });
});

describe('labels', () => {
  it('a name that is a label value is used as is; a longer one is hashed', () => {
    expect(labelValue('ip-10-0-1-5.ec2.internal')).toBe('ip-10-0-1-5.ec2.internal');
    expect(labelValue('z'.repeat(64))).toMatch(/^h-[0-9a-f]{10}$/);
    expect(attachmentSelector('eni', 'node-a')).toBe('nodeeni.networking.k8s.aws/name=eni,nodeeni.networking.k8s.aws/node=node-a');
  });
});

describe('pairPhase', () => {
  it('shows the least advanced ENI, Failed and Releasing first', () => {
    expect(pairPhase([entry('a', 'Ready'), entry('b', 'Attaching')])).toBe('Attaching');
    expect(pairPhase([entry('a', 'Ready'), entry('b', 'Ready')])).toBe('Ready');
    expect(pairPhase([entry('a', 'Ready'), entry('b', 'Failed')])).toBe('Failed');
    expect(pairPhase([entry('a', 'Releasing'), entry('b', 'Creating')])).toBe('Releasing');
    expect(pairPhase([{ nodeID: 'n1', subnetID: 'a', status: 'attached' }])).toBe('Ready');
    expect(pairPhase([])).toBe('Pending');
  });
});

describe('pairObjectContent', () => {
  const now = '2026-12-02T00:00:00Z';
  it('summarises for kubectl get and sets the Ready condition', () => {
    const c = pairObjectContent({
      nodeENI: 'eni',
      nodeName: 'n1',
      generation: 3,
      now,
      attachments: [entry('a', 'Ready', { eniID: 'eni-1', interfaceName: 'eth2' }), entry('b', 'Configuring', { eniID: 'eni-2' })],
    });
    expect(c.labels).toEqual({ 'nodeeni.networking.k8s.aws/name': 'eni', 'nodeeni.networking.k8s.aws/node': 'n1' });
    expect(c.status).toMatchObject({ phase: 'Configuring', ready: '1/2', eniIDs: 'eni-1,eni-2', interfaces: 'eth2,-', observedGeneration: 3 });
    expect(c.status.conditions).toEqual([
      { type: 'Ready', status: 'False', reason: 'Configuring', message: '1/2 ENIs ready; Configuring', lastTransitionTime: now, observedGeneration: 3 },
    ]);
  });
  it('keeps lastTransitionTime while the status holds, moves it on a flip; a failure names the subnet', () => {
    const prev = { status: 'False', lastTransitionTime: '2026-01-01T00:00:00Z' };
    const failed = pairObjectContent({ nodeENI: 'e', nodeName: 'n1', now, previousReady: prev, attachments: [entry('subnet-1', 'Failed', { message: 'no slot' })] });
    expect(failed.status.conditions![0]).toMatchObject({ status: 'False', reason: 'AttachmentFailed', message: 'subnet subnet-1: no slot', lastTransitionTime: prev.lastTransitionTime });
    const ready = pairObjectContent({ nodeENI: 'e', nodeName: 'n1', now, previousReady: prev, attachments: [entry('subnet-1', 'Ready')] });
    expect(ready.status.conditions![0]).toMatchObject({ status: 'True', reason: 'AllENIsReady', lastTransitionTime: now });
  });
});

describe('pairObjectManifest', () => {
  it('is owned by the NodeENI (controller, no blockOwnerDeletion) and names the pair', () => {
    const content = pairObjectContent({ nodeENI: 'eni', nodeName: 'n1', now: 't', attachments: [entry('a', 'Ready')] });
    const m = pairObjectManifest('eni', 'uid-9', 'n1', content);
    expect(m.metadata).toEqual({
      name: 'eni.n1',
      labels: content.labels,
      ownerReferences: [{ apiVersion: 'networking.k8s.aws/v1alpha1', kind: 'NodeENI', name: 'eni', uid: 'uid-9', controller: true }],
    });
    expect(m.spec).toEqual({ nodeENI: 'eni', nodeName: 'n1' });
    expect(m.status).toBe(content.status);
  });
});
