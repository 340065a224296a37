// Plain-text output of the demo: aligned tables and one progress line per NodeENI. No terminal needed.
import type { NodeENI } from '../../common/nodeeni.js';

/** Left-aligned columns separated by two spaces, like kubectl's tables. */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

export interface Progress {
  name: string;
  ready: number;
  desired: number;
  /** Phase → count, in lifecycle order. */
  phases: [string, number][];
  /** The first failure message, if any attachment failed (carries the AWS error). */
  failure?: string;
  /** The watcher's Ready condition reason (what `kubectl get nodeenis` shows as STATUS). */
  status?: string;
  done: boolean;
}

const PHASE_ORDER = ['Pending', 'Creating', 'Attaching', 'WaitingForNodeAgent', 'Configuring', 'Ready', 'Releasing', 'Failed'];

/** Where a NodeENI stands on the demo's nodes: `desired` attachments wanted on them. */
export function progressOf(obj: NodeENI | undefined, name: string, nodes: ReadonlySet<string>, desired: number): Progress {
  const mine = (obj?.status?.attachments ?? []).filter((a) => nodes.has(a.nodeID));
  const counts = new Map<string, number>();
  for (const a of mine) counts.set(a.phase ?? 'Pending', (counts.get(a.phase ?? 'Pending') ?? 0) + 1);
  const phases = [...counts].sort(([a], [b]) => PHASE_ORDER.indexOf(a) - PHASE_ORDER.indexOf(b));
  const ready = counts.get('Ready') ?? 0;
  const failure = mine.find((a) => a.phase === 'Failed')?.message;
  const cond = obj?.status?.conditions?.find((c) => c.type === 'Ready');
  // Done when every wanted attachment is Ready and the watcher's summary (the READY column) says so too.
  const done = ready === desired && mine.length === desired && obj?.status?.ready === `${desired}/${desired}` && cond?.status === 'True';
  return { name, ready, desired, phases, failure, status: cond?.reason, done };
}

export function progressLine(p: Progress, nameWidth = 0): string {
  const phases = p.phases.length ? p.phases.map(([ph, n]) => `${ph}:${n}`).join(' ') : 'no attachments yet';
  const tail = p.failure ? `  ! ${p.failure}` : '';
  return `${p.name.padEnd(nameWidth)}  ${`${p.ready}/${p.desired}`.padStart(5)} ready  ${phases}${p.status ? `  (${p.status})` : ''}${tail}`;
}

export function elapsed(t0: number): string {
  return `[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s]`;
}

/** The Web UI's workflow list filtered by a visibility query. */
export function workflowsUrl(uiUrl: string, namespace: string, query: string): string {
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(query)}`;
}

/** One workflow's event history in the Web UI. */
export function workflowUrl(uiUrl: string, namespace: string, workflowId: string, runId?: string): string {
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}${runId ? `/${runId}/history` : ''}`;
}
