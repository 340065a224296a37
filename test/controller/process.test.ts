// The controller process as an operator meets it: configuration checked before anything starts, and one
// Prometheus endpoint with the controller's own metrics and the Temporal SDK's.
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { REPO_ROOT } from '../../dev/stack/paths.js';
import { TestCluster } from '../support/cluster.js';
import { eventually } from '../support/env.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

describe('controller process', () => {
  it('refuses bad configuration with a message naming each variable, before connecting anywhere', () => {
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'workers', 'controller.js')], {
      env: { PATH: process.env.PATH, EC2_RATE_LIMIT: '-3', EC2_ENDPOINT: 'not a url', COMPONENTS: 'worker,bogus', CLUSTER_NAME: 'has space' },
      encoding: 'utf8',
      timeout: 30000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('invalid configuration');
    for (const v of ['EC2_RATE_LIMIT', 'EC2_ENDPOINT', 'COMPONENTS', 'CLUSTER_NAME']) expect(r.stderr).toContain(`${v}:`);
  });

  describe('metrics', () => {
    let port = 0;
    let c: TestCluster;
    beforeAll(async () => {
      port = await freePort();
      c = new TestCluster({ METRICS_PORT: String(port) });
      await c.addNodes(1);
      c.controller.start();
    }, 120000);
    afterAll(() => c.teardown(), 180000);

    it('serves attachments by phase, EC2 calls by action and outcome, reconcile latency, and the SDK metrics', async () => {
      await c.apply(c.seed('jumbo-frames.yaml'));
      await c.waitReady('jumbo-frames-eni', 1);
      const text = await eventually('metrics with a Ready attachment', async () => {
        const t = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return /multi_eni_attachments\{phase="Ready"\} 1/.test(t) ? t : false;
      });
      expect(text).toMatch(/multi_eni_ec2_calls_total\{action="CreateNetworkInterface",outcome="ok"\} 1/);
      expect(text).toMatch(/multi_eni_ec2_calls_total\{action="AttachNetworkInterface",outcome="ok"\} 1/);
      expect(text).toMatch(/multi_eni_watcher_reconcile_seconds_count \d+/);
      expect(text).toMatch(/multi_eni_watcher_signals_total\{kind="spec"\} [1-9]/);
      // The Temporal SDK's own metrics, from its runtime, on the same endpoint.
      expect(text).toMatch(/^temporal_\w+/m);
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    }, 180000);
  });
});
