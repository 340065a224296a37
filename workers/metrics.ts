// Prometheus metrics: the controller's own, plus the Temporal SDK's (served by the SDK's runtime on a
// loopback port and appended here, so one endpoint carries both).
import http from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { Readiness } from './readiness.js';
import type { NodeENI } from '../common/nodeeni.js';
import { clusterSnapshot } from '../watcher/cluster-metrics.js';

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly ec2Calls = new Counter({ name: 'multi_eni_ec2_calls_total', help: 'EC2 API calls by action and outcome', labelNames: ['action', 'outcome'], registers: [this.registry] });
  readonly ec2BudgetWaits = new Counter({
    name: 'multi_eni_ec2_budget_waits_total',
    help: "EC2 calls that waited for a token of the controller's EC2 budget, by bucket",
    labelNames: ['bucket'],
    registers: [this.registry],
  });
  readonly ec2BudgetWaitSeconds = new Counter({
    name: 'multi_eni_ec2_budget_wait_seconds_total',
    help: "Time EC2 calls waited for a token of the controller's EC2 budget, by bucket",
    labelNames: ['bucket'],
    registers: [this.registry],
  });
  readonly ec2BudgetRefused = new Counter({
    name: 'multi_eni_ec2_budget_refused_total',
    help: 'EC2 calls refused unsent (retried later by Temporal) because their wait for a token would have been too long, by bucket',
    labelNames: ['bucket'],
    registers: [this.registry],
  });
  readonly leakedEnisDeleted = new Counter({
    name: 'multi_eni_fleet_leaked_enis_deleted_total',
    help: "Leaked ENIs (this cluster's tag, no pair owning them, past the cool-down) the fleet sweep deleted",
    registers: [this.registry],
  });
  readonly reconcileSeconds = new Histogram({
    name: 'multi_eni_watcher_reconcile_seconds',
    help: 'Duration of a watcher reconcile pass',
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly signals = new Counter({ name: 'multi_eni_watcher_signals_total', help: 'Signals sent by the watcher', labelNames: ['kind'], registers: [this.registry] });
  readonly watcherOps = new Counter({
    name: 'multi_eni_watcher_operations_total',
    help: 'Watcher operations by kind: reconcileErrors, signalErrors, statusWrites, finalizersAdded, finalizersRemoved, eventsWritten, nodesPatched',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  // Cluster-wide, from the leader's NodeENI cache at each scrape; a replica not leading exports no sample of them.
  private clusterSource: () => readonly NodeENI[] | undefined = () => undefined;
  readonly attachments = new Gauge({
    name: 'multi_eni_attachments',
    help: "ENI attachments in the NodeENIs' status by phase, cluster-wide (the NodeENIs this controller manages); exported by the leader only",
    labelNames: ['phase'],
    registers: [this.registry],
    collect: () => this.collectCluster(),
  });
  readonly nodeENIs = new Gauge({
    name: 'multi_eni_nodeenis',
    help: 'NodeENIs by the status of their Ready condition (True, False, Unknown); exported by the leader only',
    labelNames: ['ready'],
    registers: [this.registry],
  });
  readonly notReadySeconds = new Gauge({
    name: 'multi_eni_nodeeni_not_ready_seconds',
    help: "Per NodeENI that is Ready=False (not being deleted): seconds since its Ready condition turned False; exported by the leader only",
    labelNames: ['nodeeni'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'multi_eni_process_' });
  }

  /** Where the cluster-wide gauges come from: the watcher's NodeENI cache while leading, else undefined. */
  setClusterSource(source: () => readonly NodeENI[] | undefined): void {
    this.clusterSource = source;
  }

  /** Runs first at each scrape (the attachments gauge is registered before the other two). */
  private collectCluster(): void {
    const list = this.clusterSource();
    for (const g of [this.attachments, this.nodeENIs, this.notReadySeconds]) g.reset();
    if (!list) return;
    const snap = clusterSnapshot(list, Date.now());
    for (const [phase, n] of Object.entries(snap.attachmentsByPhase)) this.attachments.set({ phase }, n);
    for (const [ready, n] of Object.entries(snap.nodeENIsByReady)) this.nodeENIs.set({ ready }, n);
    for (const [nodeeni, seconds] of Object.entries(snap.notReadySeconds)) this.notReadySeconds.set({ nodeeni }, seconds);
  }
}

/**
 * Serves /metrics (ours + the SDK's), /healthz (alive: always ok while the process answers) and /readyz (ok, or
 * 503 with every reason it is not). Returns the server, or undefined when port is 0.
 */
export function serveMetrics(metrics: { readonly registry: Registry }, port: number, sdkMetricsUrl?: string, readiness: Readiness = new Readiness()): http.Server | undefined {
  if (!port) return undefined;
  const server = http.createServer((req, res) => {
    void (async () => {
      if (req.url === '/healthz') {
        res.writeHead(200).end('ok');
        return;
      }
      if (req.url === '/readyz') {
        const why = readiness.reasons();
        res.writeHead(why.length ? 503 : 200).end(why.length ? `not ready: ${why.join('; ')}` : 'ok');
        return;
      }
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      let text = await metrics.registry.metrics();
      if (sdkMetricsUrl) {
        try {
          const r = await fetch(sdkMetricsUrl, { signal: AbortSignal.timeout(2000) });
          text += `\n${await r.text()}`;
        } catch {
          // SDK metrics are optional: ours are still served.
        }
      }
      res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text);
    })();
  });
  server.listen(port);
  return server;
}
