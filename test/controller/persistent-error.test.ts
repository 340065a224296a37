// A retryable EC2 error that never stops (an internal error on every DescribeSecurityGroups) used to retry
// resolveNetwork forever: Converging, no Degraded, no Warning, and a deletion that hung until the workflow was
// terminated by hand. Now the pass gives up after its attempts and says so, and a delete still finishes.
import { clusterForSuite } from '../support/cluster.js';
import { eventually, stack } from '../support/env.js';
import { proxy } from '../support/proxy.js';

describe('a retryable EC2 error that persists', () => {
  const c = clusterForSuite(1);
  afterEach(async () => {
    await proxy.reset();
  });

  it('shows in the attachment, Degraded and a Warning within about a minute, and the NodeENI can still be deleted', async () => {
    const s = stack();
    await proxy.faults({ serverErrorRate: 1, actions: ['DescribeSecurityGroups'] });
    const name = `persisting-${c.runId}`;
    await c.apply({
      apiVersion: 'networking.k8s.aws/v1alpha1',
      kind: 'NodeENI',
      metadata: { name },
      spec: { nodeSelector: { ng: c.nodeGroup }, subnetIDs: [s.seed.subnets[0]!.id], securityGroupNames: [s.seed.securityGroups[0]!.name], deviceIndex: 1 },
    });
    const started = Date.now();
    const degraded = await eventually(
      'Degraded=True naming the persisting error',
      async () => (await c.get(name))?.status?.conditions?.find((x) => x.type === 'Degraded' && x.status === 'True') ?? false,
      150_000,
    );
    const seconds = (Date.now() - started) / 1000;
    expect(degraded.message).toMatch(/InternalError.*still failing after 7 attempts/);
    const entry = (await c.get(name))!.status!.attachments![0]!;
    expect(entry).toMatchObject({ phase: 'Failed', message: expect.stringContaining('still failing after 7 attempts') });
    const warnings = (await c.events(name)).filter((e) => e.type === 'Warning');
    expect(warnings.some((e) => /InternalError/.test(e.message ?? ''))).toBe(true);
    expect(await c.enis([{ Name: 'tag:NodeENI', Values: [name] }])).toEqual([]);
    console.log(`persisting error shown after ${seconds.toFixed(0)} s`);

    // The error keeps going; the deletion must not wait for it.
    await c.delete(name);
    await c.waitGone(name, 60_000);
  }, 300_000);
});
