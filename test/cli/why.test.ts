// `kubectl nodeeni why`, run as a user runs it (the compiled plugin, as a process), against the local stack: a pair
// held in a retry by an EC2 error that persists is named with its step, attempt and failure, what to do, and the
// link to its history; once EC2 recovers, the same command says Ready.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { clusterForSuite } from '../support/cluster.js';
import { eventually, stack } from '../support/env.js';
import { proxy } from '../support/proxy.js';
import { REPO_ROOT } from '../../dev/stack/paths.js';

function kubectlNodeeni(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const s = stack();
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [path.join(REPO_ROOT, 'dist', 'cli', 'kubectl-nodeeni.js'), ...args],
      { env: { PATH: process.env.PATH ?? '', KUBECONFIG: s.kube.kubeconfig, TEMPORAL_ADDRESS: s.temporal.address, TEMPORAL_UI_URL: s.temporal.uiUrl }, timeout: 60000 },
      (err, out, errOut) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out, err: errOut }),
    ),
  );
}

describe('kubectl nodeeni why', () => {
  const c = clusterForSuite(1);
  afterAll(() => proxy.reset());

  it('names the step a pair is stuck retrying, its attempt and failure, what to do; then Ready', async () => {
    const s = stack();
    const name = `why-${c.runId}`;
    const node = c.node(0).name;
    // EC2 answers every create with a server error: the pair's create is retried, attempt after attempt.
    await proxy.faults({ serverErrorRate: 1, actions: ['CreateNetworkInterface'] });
    await c.apply({
      apiVersion: 'networking.k8s.aws/v1alpha1',
      kind: 'NodeENI',
      metadata: { name },
      spec: { nodeSelector: { ng: c.nodeGroup }, subnetIDs: [s.seed.subnets[0]!.id], securityGroupIDs: [s.seed.securityGroups[0]!.id], deviceIndex: 1 },
    });
    const stuck = await eventually('the retry named', async () => {
      const r = await kubectlNodeeni('why', name);
      return r.code === 0 && /stuck retrying createEni: attempt [2-9]/.test(r.out) ? r.out : false;
    }, 90000, 1000);
    expect(stuck).toMatch(new RegExp(`^NodeENI ${name}\\n`));
    expect(stuck).toContain(`- converging on ${node}, stuck retrying createEni: attempt`);
    expect(stuck).toContain('last failure: CreateNetworkInterface: InternalError: An internal error has occurred.');
    expect(stuck).toContain('    what to do: EC2 answers with a server error');
    expect(stuck).toContain(`history: ${s.temporal.uiUrl}/namespaces/default/workflows/${encodeURIComponent(`nodeeni/${name}/${node}`)}`);
    expect(stuck).toContain(`subnet ${s.seed.subnets[0]!.id}: Creating`);

    await proxy.faults({ serverErrorRate: 0 });
    await c.waitReady(name, 1, 150000);
    const ready = await eventually('Ready said', async () => {
      const r = await kubectlNodeeni('why', name, node);
      return r.out.includes(`- Ready on ${node}: nothing to do`) ? r.out : false;
    });
    expect(ready).toMatch(/ready 1\/1/);
    expect(ready).toMatch(/eni-[0-9a-f]+ at index 1 \(eth1\)/);

    const missing = await kubectlNodeeni('why', `no-such-${c.runId}`);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain(`NodeENI not found`);
    const usage = await kubectlNodeeni('what');
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/^usage: kubectl nodeeni why <nodeeni> \[node\]/);
    await c.delete(name);
    await c.waitGone(name);
  }, 300000);
});
