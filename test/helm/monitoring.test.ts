// The chart's optional monitoring objects: ServiceMonitor and PodMonitor, PrometheusRule, Grafana dashboard.
// Off by default; when on, every PromQL expression (alert rules and dashboard panels) parses with Prometheus'
// own grammar (@prometheus-io/lezer-promql) and names only metrics the code exports, found by reading the code.
import fs from 'node:fs';
import path from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { REPO_ROOT } from '../../dev/stack/paths.js';
import { CHART_DIR, find, render, type K8sObject } from './support.js';

const T = 60000;
const ALL_ON = ['monitoring.serviceMonitor.enabled=true', 'monitoring.prometheusRule.enabled=true', 'monitoring.grafanaDashboard.enabled=true'];

/** Metric names the code registers with prom-client (a histogram's _bucket, _sum and _count series included). */
function exportedMetrics(): Set<string> {
  const names = new Set<string>();
  for (const dir of ['workers', 'node-agent', 'watcher', 'activities']) {
    for (const f of fs.readdirSync(path.join(REPO_ROOT, dir))) {
      if (!f.endsWith('.ts') || f.endsWith('.test.ts')) continue;
      const src = fs.readFileSync(path.join(REPO_ROOT, dir, f), 'utf8');
      for (const m of src.matchAll(/new (Counter|Gauge|Histogram|Summary)\(\{\s*name: '([a-z_:][a-z0-9_:]*)'/g)) {
        const [, type, name] = m as unknown as [string, string, string];
        names.add(name);
        if (type === 'Histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
      }
    }
  }
  return names;
}

/** Parse errors and the metric names an expression selects. */
function promql(expr: string): { errors: string[]; metrics: string[] } {
  const errors: string[] = [];
  const metrics: string[] = [];
  parser.parse(expr).iterate({
    enter: (n) => {
      if (n.type.isError) errors.push(`at ${n.from}: ${JSON.stringify(expr.slice(Math.max(0, n.from - 10), n.to + 10))}`);
      if (n.name === 'Identifier' && n.node.parent?.name === 'VectorSelector') metrics.push(expr.slice(n.from, n.to));
    },
  });
  return { errors, metrics };
}

/** Every problem of a set of expressions: parse errors, and metrics the code does not export. */
function problems(exprs: string[], exported: Set<string>): string[] {
  const out: string[] = [];
  for (const e of exprs) {
    const r = promql(e);
    for (const err of r.errors) out.push(`${e}: parse error ${err}`);
    if (r.metrics.length === 0) out.push(`${e}: selects no metric`);
    for (const m of r.metrics) if (!exported.has(m)) out.push(`${e}: ${m} is not exported by the code`);
  }
  return out;
}

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; description: string };
}
interface Panel {
  title: string;
  targets: { expr: string; refId: string }[];
}

describe('chart monitoring objects', () => {
  const exported = exportedMetrics();

  it('the code exports the metrics the rules and panels are built on (the grep finds them)', () => {
    for (const m of ['multi_eni_attachments', 'multi_eni_nodeeni_not_ready_seconds', 'multi_eni_ec2_calls_total', 'multi_eni_fleet_leaked_enis_deleted_total', 'multi_eni_node_agent_operations_total', 'multi_eni_watcher_reconcile_seconds_bucket']) {
      expect(exported).toContain(m);
    }
  });

  it('the check catches a parse error and a metric the code does not export (so it can fail)', () => {
    expect(problems(['sum(multi_eni_attachments) >', 'rate(multi_eni_attachment_total[5m])', 'time()'], exported)).toEqual([
      expect.stringContaining('parse error'),
      'rate(multi_eni_attachment_total[5m]): multi_eni_attachment_total is not exported by the code',
      'time(): selects no metric',
    ]);
  });

  it('nothing is rendered by default', async () => {
    const { objects } = await render(CHART_DIR);
    expect(objects.filter((o) => ['ServiceMonitor', 'PodMonitor', 'PrometheusRule'].includes(o.kind) || o.metadata.name.endsWith('-dashboard'))).toEqual([]);
  }, T);

  it('ServiceMonitor on the controller metrics Service, PodMonitor on the node agents, with the labels given', async () => {
    const { objects } = await render(CHART_DIR, { set: [...ALL_ON, 'monitoring.serviceMonitor.labels.release=kps', 'monitoring.serviceMonitor.interval=15s'] });
    const sm = find(objects, 'ServiceMonitor') as K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; interval: string }[] } };
    const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name.endsWith('controller-metrics'))!;
    expect(sm.metadata.labels).toMatchObject({ release: 'kps' });
    // The selector picks the metrics Service, by its labels, and the port by the Service's port name.
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) expect(svc.metadata.labels?.[k]).toBe(v);
    expect((svc as unknown as { spec: { ports: { name: string }[] } }).spec.ports.map((p) => p.name)).toContain(sm.spec.endpoints[0]!.port);
    expect(sm.spec.endpoints[0]).toMatchObject({ port: 'metrics', interval: '15s' });
    const pm = find(objects, 'PodMonitor') as K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: { port: string }[] } };
    const ds = find(objects, 'DaemonSet') as unknown as { spec: { template: { metadata: { labels: Record<string, string> }; spec: { containers: { ports: { name: string }[] }[] } } } };
    for (const [k, v] of Object.entries(pm.spec.selector.matchLabels)) expect(ds.spec.template.metadata.labels[k]).toBe(v);
    expect(ds.spec.template.spec.containers[0]!.ports.map((p) => p.name)).toContain(pm.spec.podMetricsEndpoints[0]!.port);
    // Without the controller's metrics Service there is nothing for a ServiceMonitor to select.
    const noSvc = await render(CHART_DIR, { set: [...ALL_ON, 'controller.metrics.service.enabled=false'] });
    expect(noSvc.objects.filter((o) => o.kind === 'ServiceMonitor')).toEqual([]);
  }, T);

  it('PrometheusRule: the five alerts, each expression valid PromQL over exported metrics, thresholds from values', async () => {
    const { objects } = await render(CHART_DIR, { set: [...ALL_ON, 'monitoring.prometheusRule.notReadySeconds=900', 'monitoring.prometheusRule.ec2ThrottledPerSecond=2'] });
    const rule = find(objects, 'PrometheusRule') as K8sObject & { spec: { groups: { name: string; rules: Rule[] }[] } };
    const rules = rule.spec.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(['MultiEniNodeENINotReady', 'MultiEniAttachmentsFailed', 'MultiEniEc2Throttled', 'MultiEniLeakedEnisDeleted', 'MultiEniNoLeader']);
    expect(problems(rules.map((r) => r.expr), exported)).toEqual([]);
    expect(rules[0]!.expr).toMatch(/> 900$/);
    expect(rules[2]!.expr).toMatch(/> 2$/);
    for (const r of rules) {
      expect(['info', 'warning', 'critical']).toContain(r.labels.severity);
      expect(r.annotations.summary).not.toContain('{{ "');
      if (r.for) expect(r.for).toMatch(/^\d+[smh]$/);
    }
  }, T);

  it('the Grafana dashboard ConfigMap: JSON that parses, every panel query valid PromQL over exported metrics', async () => {
    const { objects } = await render(CHART_DIR, { set: ALL_ON });
    const cm = find(objects, 'ConfigMap', '-dashboard') as K8sObject & { data: Record<string, string> };
    expect(cm.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    const dashboard = JSON.parse(cm.data['multi-eni.json']!) as { uid: string; panels: Panel[] };
    expect(dashboard.uid).toBe('multi-eni');
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    expect(exprs.length).toBeGreaterThanOrEqual(10);
    expect(problems(exprs, exported)).toEqual([]);
    // Both components are on it.
    expect(exprs.some((e) => e.includes('multi_eni_node_agent_'))).toBe(true);
    expect(exprs.some((e) => e.includes('multi_eni_attachments'))).toBe(true);
  }, T);
});
