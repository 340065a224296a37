import { ControllerMetrics } from './metrics.js';
import type { NodeENI } from '../common/nodeeni.js';

const nodeENI = (name: string, phases: NonNullable<NodeENI['status']>['attachments'], ready: 'True' | 'False'): NodeENI => ({
  apiVersion: 'networking.k8s.aws/v1alpha1',
  kind: 'NodeENI',
  metadata: { name },
  spec: { subnetID: 'subnet-1', securityGroupIDs: [], nodeSelector: {} } as unknown as NodeENI['spec'],
  status: { attachments: phases, conditions: [{ type: 'Ready', status: ready, reason: 'r', message: 'm', lastTransitionTime: new Date(Date.now() - 90_000).toISOString() }] },
});

describe('ControllerMetrics cluster-wide gauges', () => {
  it("the leader exports the cache's counts at each scrape; a replica not leading exports no sample", async () => {
    const m = new ControllerMetrics();
    let cache: NodeENI[] | undefined;
    m.setClusterSource(() => cache);
    const sample = /^multi_eni_(attachments|nodeenis|nodeeni_not_ready_seconds)\{/m;
    expect(await m.registry.metrics()).not.toMatch(sample);

    cache = [
      nodeENI('a', [{ nodeID: 'n1', subnetID: 's', phase: 'Ready' }, { nodeID: 'n2', subnetID: 's', phase: 'Ready' }], 'True'),
      nodeENI('b', [{ nodeID: 'n1', subnetID: 's', phase: 'Attaching' }], 'False'),
    ];
    let text = await m.registry.metrics();
    expect(text).toContain('multi_eni_attachments{phase="Ready"} 2');
    expect(text).toContain('multi_eni_attachments{phase="Attaching"} 1');
    expect(text).toContain('multi_eni_attachments{phase="Failed"} 0');
    expect(text).toContain('multi_eni_nodeenis{ready="True"} 1');
    expect(text).toContain('multi_eni_nodeenis{ready="False"} 1');
    const stuck = Number(/^multi_eni_nodeeni_not_ready_seconds\{nodeeni="b"\} (\S+)$/m.exec(text)?.[1]);
    expect(stuck).toBeGreaterThanOrEqual(90);
    expect(stuck).toBeLessThan(120);

    // The cache moved on: nothing stale is kept (b is Ready now, a is gone).
    cache = [nodeENI('b', [{ nodeID: 'n1', subnetID: 's', phase: 'Ready' }], 'True')];
    text = await m.registry.metrics();
    expect(text).toContain('multi_eni_attachments{phase="Ready"} 1');
    expect(text).toContain('multi_eni_attachments{phase="Attaching"} 0');
    expect(text).not.toContain('multi_eni_nodeeni_not_ready_seconds{');

    // Leadership lost: every cluster-wide sample goes.
    cache = undefined;
    expect(await m.registry.metrics()).not.toMatch(sample);
  });
});
