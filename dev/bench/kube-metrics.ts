// The kube-apiserver's own counters for NodeENI requests (/metrics), so a slow phase can be traced to what
// the apiserver spent its CPU on: status writes, their outcome and latency, and the etcd writes behind them.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { StackState } from '../stack/stack.js';

const run = promisify(execFile);

export interface NodeENIRequests {
  /**
   * Status writes by "resource VERB code": nodeenis/status (the watcher's conditions, counts and bounded list; older
   * releases: every pair's entries too) and nodeeniattachments (each pair's object: POST, PATCH, DELETE).
   */
  statusApplies: Record<string, number>;
  /** Seconds the apiserver spent answering them (sum of request durations). */
  statusApplySeconds: number;
  /** Writes to etcd for nodeenis, including optimistic-concurrency attempts that lost and were redone. */
  etcdUpdates: number;
  /** Watch events sent for nodeenis, and their bytes. */
  watchEvents: number;
  watchMiB: number;
}

function series(text: string, name: string, match: Record<string, string>): { labels: Record<string, string>; value: number }[] {
  const out: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labels = Object.fromEntries([...line.slice(name.length + 1, line.lastIndexOf('}')).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (Object.entries(match).every(([k, v]) => labels[k] === v)) out.push({ labels, value: Number(line.slice(line.lastIndexOf(' ') + 1)) });
  }
  return out;
}

export async function nodeENIRequests(s: StackState): Promise<NodeENIRequests> {
  const { stdout } = await run(path.join(s.bin, 'kubectl'), ['get', '--raw', '/metrics'], { env: { ...process.env, KUBECONFIG: s.kube.kubeconfig }, maxBuffer: 256 * 2 ** 20 });
  const targets = [
    { name: 'nodeenis/status', match: { resource: 'nodeenis', subresource: 'status' } },
    { name: 'nodeeniattachments', match: { resource: 'nodeeniattachments', subresource: '' } },
  ];
  const isWrite = (l: Record<string, string>) => ['APPLY', 'PATCH', 'POST', 'DELETE', 'PUT'].includes(l.verb ?? '');
  const statusApplies: Record<string, number> = {};
  for (const t of targets) {
    for (const x of series(stdout, 'apiserver_request_total', t.match)) {
      if (!isWrite(x.labels)) continue;
      const key = `${t.name} ${x.labels.verb} ${x.labels.code}`;
      statusApplies[key] = (statusApplies[key] ?? 0) + x.value;
    }
  }
  const sum = (name: string, m: Record<string, string>, keep: (l: Record<string, string>) => boolean = () => true) =>
    series(stdout, name, m).reduce((a, x) => a + (keep(x.labels) ? x.value : 0), 0);
  const etcdWrite = (l: Record<string, string>) => ['update', 'create', 'delete'].includes(l.operation ?? '');
  return {
    statusApplies,
    statusApplySeconds: targets.reduce((a, t) => a + sum('apiserver_request_duration_seconds_sum', t.match, isWrite), 0),
    etcdUpdates: sum('etcd_request_duration_seconds_count', { resource: 'nodeenis' }, etcdWrite) + sum('etcd_request_duration_seconds_count', { resource: 'nodeeniattachments' }, etcdWrite),
    watchEvents: sum('apiserver_watch_events_total', { resource: 'nodeenis' }) + sum('apiserver_watch_events_total', { resource: 'nodeeniattachments' }),
    watchMiB: (sum('apiserver_watch_events_sizes_sum', { resource: 'nodeenis' }) + sum('apiserver_watch_events_sizes_sum', { resource: 'nodeeniattachments' })) / 2 ** 20,
  };
}

export function diff(after: NodeENIRequests, before: NodeENIRequests): NodeENIRequests {
  const codes = new Set([...Object.keys(after.statusApplies), ...Object.keys(before.statusApplies)]);
  return {
    statusApplies: Object.fromEntries([...codes].map((c) => [c, (after.statusApplies[c] ?? 0) - (before.statusApplies[c] ?? 0)]).filter(([, n]) => n !== 0)),
    statusApplySeconds: after.statusApplySeconds - before.statusApplySeconds,
    etcdUpdates: after.etcdUpdates - before.etcdUpdates,
    watchEvents: after.watchEvents - before.watchEvents,
    watchMiB: after.watchMiB - before.watchMiB,
  };
}
