import { clusterSnapshot } from './cluster-metrics.js';
import type { AttachmentStatus, NodeENI } from '../common/nodeeni.js';

type N = Pick<NodeENI, 'metadata' | 'status'>;
const now = Date.parse('2026-01-01T01:00:00Z');
const cond = (status: 'True' | 'False', at: string) => [{ type: 'Ready', status, reason: 'r', message: 'm', lastTransitionTime: at }];
const att = (nodeID: string, phase?: AttachmentStatus['phase']): AttachmentStatus => ({ nodeID, subnetID: 'subnet-1', ...(phase ? { phase } : {}) });

describe('clusterSnapshot', () => {
  it('counts every attachment in status once, by phase, with every phase present', () => {
    const nodeENIs: N[] = [
      { metadata: { name: 'a' }, status: { attachments: [att('n1', 'Ready'), att('n2', 'Ready'), att('n3', 'Attaching')], conditions: cond('False', '2026-01-01T00:50:00Z') } },
      { metadata: { name: 'b' }, status: { attachments: [att('n1', 'Ready'), att('n2')], conditions: cond('True', '2026-01-01T00:00:00Z') } },
      { metadata: { name: 'c' } },
    ];
    const s = clusterSnapshot(nodeENIs, now);
    expect(s.attachmentsByPhase).toEqual({
      Pending: 0,
      Creating: 0,
      Attaching: 1,
      WaitingForNodeAgent: 0,
      Configuring: 0,
      Ready: 3,
      Releasing: 0,
      Failed: 0,
      Unknown: 1,
    });
    expect(s.nodeENIsByReady).toEqual({ True: 1, False: 1, Unknown: 1 });
    expect(s.notReadySeconds).toEqual({ a: 600 });
  });

  it('how long each Ready=False NodeENI has been so; Ready ones and ones being deleted are left out', () => {
    expect(clusterSnapshot([], now)).toMatchObject({ notReadySeconds: {}, nodeENIsByReady: { True: 0, False: 0, Unknown: 0 } });
    const s = clusterSnapshot(
      [
        { metadata: { name: 'x' }, status: { conditions: cond('False', '2026-01-01T00:59:00Z') } },
        { metadata: { name: 'y' }, status: { conditions: cond('False', '2026-01-01T00:30:00Z') } },
        { metadata: { name: 'z', deletionTimestamp: '2026-01-01T00:00:01Z' }, status: { conditions: cond('False', '2026-01-01T00:00:00Z') } },
        { metadata: { name: 'ok' }, status: { conditions: cond('True', '2025-01-01T00:00:00Z') } },
      ],
      now,
    );
    expect(s.notReadySeconds).toEqual({ x: 60, y: 1800 });
    expect(s.nodeENIsByReady).toEqual({ True: 1, False: 3, Unknown: 0 });
  });

  it('a condition stamped in the future (clock skew) does not go negative', () => {
    expect(clusterSnapshot([{ metadata: { name: 'f' }, status: { conditions: cond('False', '2026-01-01T02:00:00Z') } }], now).notReadySeconds).toEqual({ f: 0 });
  });
});
