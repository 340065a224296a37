// The controller process as an operator meets it: configuration checked before anything starts, and one
// Prometheus endpoint with the controller's own metrics and the Temporal SDK's.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { REPO_ROOT } from '../../dev/stack/paths.js';
import { TestCluster } from '../support/cluster.js';
import { ControllerProcess } from '../support/controller-process.js';
import { eventually } from '../support/env.js';

function listenOn(port: number): Promise<net.Server | undefined> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(undefined));
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

/**
 * A port whose next one is free too: the controller serves its metrics on the port and the Temporal SDK's on the
 * port + 1 (an ephemeral port's neighbour may be some client's connection, and the process would not start).
 */
async function freePort(): Promise<number> {
  for (;;) {
    const a = await listenOn(0);
    const port = (a!.address() as net.AddressInfo).port;
    const b = await listenOn(port + 1);
    await new Promise<void>((r) => a!.close(() => r()));
    if (b) {
      await new Promise<void>((r) => b.close(() => r()));
      return port;
    }
  }
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
      // Its logs: JSON lines of one logger, the watcher's and the Temporal SDK's among them.
      const lines = fs
        .readFileSync(c.controller.log, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toContainEqual(expect.objectContaining({ component: 'controller', level: 'info', message: 'multi-eni controller running: worker + watcher' }));
      expect(lines).toContainEqual(expect.objectContaining({ component: 'controller', scope: 'watcher', message: expect.stringMatching(/^caches synced/) }));
      expect(lines).toContainEqual(expect.objectContaining({ component: 'controller', scope: 'temporal-sdk', state: 'RUNNING', message: 'Worker state changed' }));
      for (const l of lines) expect(l).toMatchObject({ time: expect.any(String), level: expect.any(String), component: 'controller' });
    }, 180000);
  });

  describe('cluster-wide attachments with two replicas', () => {
    let c: TestCluster;
    let second: ControllerProcess;
    const ports: number[] = [];
    const lease = `lease-${Date.now().toString(36)}`;
    beforeAll(async () => {
      // Ports two apart: each replica serves the SDK's metrics on its port + 1.
      while (ports.length < 2) {
        const p = await freePort();
        if (ports.every((q) => Math.abs(q - p) > 1)) ports.push(p);
      }
      c = new TestCluster({ METRICS_PORT: String(ports[0]), LEADER_ELECTION: 'true', LEASE_NAME: lease });
      await c.addNodes(1);
      c.controller.start();
      second = new ControllerProcess(`${c.runId}-b`, {
        CLUSTER_NAME: c.clusterName,
        NODEENI_SELECTOR: `test-run=${c.runId}`,
        TASK_QUEUE: c.taskQueue,
        FLEET_SCHEDULE_ID: `fleet-${c.runId}`,
        LEADER_ELECTION: 'true',
        LEASE_NAME: lease,
        METRICS_PORT: String(ports[1]),
      });
    }, 120000);
    afterAll(async () => {
      // The NodeENI goes first, while a replica still runs to release it; then the other replica.
      await c.teardown();
      await second?.stop();
    }, 180000);

    const scrape = async (port: number) => {
      try {
        return await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(3000) })).text();
      } catch {
        return '';
      }
    };
    const attachmentSamples = (text: string) => text.split('\n').filter((l) => l.startsWith('multi_eni_attachments{'));

    it('only the leader exports them, counted from the NodeENIs; after a hand-over the new leader does', async () => {
      second.start();
      await c.apply(c.seed('jumbo-frames.yaml'));
      await c.waitReady('jumbo-frames-eni', 1);
      const [leaderPort, otherPort] = await eventually('one replica exporting one Ready attachment', async () => {
        const [a, b] = [await scrape(ports[0]!), await scrape(ports[1]!)];
        const ready = (t: string) => /^multi_eni_attachments\{phase="Ready"\} 1$/m.test(t);
        if (ready(a) && attachmentSamples(b).length === 0 && b.includes('# TYPE multi_eni_attachments gauge')) return [ports[0]!, ports[1]!];
        if (ready(b) && attachmentSamples(a).length === 0 && a.includes('# TYPE multi_eni_attachments gauge')) return [ports[1]!, ports[0]!];
        return false;
      });
      const leaderText = await scrape(leaderPort);
      expect(leaderText).toMatch(/^multi_eni_nodeenis\{ready="True"\} 1$/m);
      expect(leaderText).toMatch(/^multi_eni_attachments\{phase="Failed"\} 0$/m);
      expect(leaderText).not.toMatch(/^multi_eni_nodeeni_not_ready_seconds\{/m);
      const otherText = await scrape(otherPort);
      expect(otherText).not.toMatch(/^multi_eni_(nodeenis|nodeeni_not_ready_seconds)\{/m);

      // The leader stops (giving the lease up): the other replica takes over and exports the same count.
      await (leaderPort === ports[0] ? c.controller : second).stop();
      await eventually('the new leader to export the Ready attachment', async () => /^multi_eni_attachments\{phase="Ready"\} 1$/m.test(await scrape(otherPort)), 60000);
      expect(attachmentSamples(await scrape(otherPort)).filter((l) => !/ 0$/.test(l))).toEqual(['multi_eni_attachments{phase="Ready"} 1']);
    }, 180000);
  });
});
