// Prometheus metrics: the controller's own, plus the Temporal SDK's (served by the SDK's runtime on a
// loopback port and appended here, so one endpoint carries both).
import http from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { Readiness } from './readiness.js';

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
  readonly attachments = new Gauge({ name: 'multi_eni_attachments', help: 'ENI attachments by phase, as last written to status', labelNames: ['phase'], registers: [this.registry] });
  readonly reconcileSeconds = new Histogram({
    name: 'multi_eni_watcher_reconcile_seconds',
    help: 'Duration of a watcher reconcile pass',
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly signals = new Counter({ name: 'multi_eni_watcher_signals_total', help: 'Signals sent by the watcher', labelNames: ['kind'], registers: [this.registry] });
  readonly watcherOps = new Counter({
    name: 'multi_eni_watcher_operations_total',
    help: 'Watcher operations by kind: reconcileErrors, signalErrors, statusWrites, finalizersAdded, finalizersRemoved, eventsWritten',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  /** Per pair: the phases of its attachments, so the gauge sums the latest of every pair. */
  private readonly pairPhases = new Map<string, string[]>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'multi_eni_process_' });
  }

  recordPairPhases(pair: string, phases: string[]): void {
    if (phases.length) this.pairPhases.set(pair, phases);
    else this.pairPhases.delete(pair);
    const counts = new Map<string, number>();
    for (const list of this.pairPhases.values()) for (const p of list) counts.set(p, (counts.get(p) ?? 0) + 1);
    this.attachments.reset();
    for (const [phase, n] of counts) this.attachments.set({ phase }, n);
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
