// Temporal actions, counted from the server's own record: the event histories of every workflow run on the
// benchmark's task queue (each pair, every continue-as-new run, the fleet sweeps), bucketed into phases by
// event time. Temporal Cloud bills by "action"; the history is the closest public record of them.
import type { Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time.js';

/**
 * How an action is counted from history events (after Temporal Cloud's action list):
 * - start:   WorkflowExecutionStarted (a client start, a signal-with-start's start, each continue-as-new run)
 * - signal:  WorkflowExecutionSignaled (so a signal-with-start that starts a run costs 2: start + signal)
 * - activity: ActivityTaskScheduled, plus one per retry (ActivityTaskStarted.attempt - 1)
 * - timer:   TimerStarted
 * - searchAttributes: UpsertWorkflowSearchAttributes
 * - other:   MarkerRecorded (patched() and side-effect markers), SignalExternalWorkflowExecutionInitiated, StartChildWorkflowExecutionInitiated
 * Not in histories, so not counted: activity heartbeats that reach the server, queries, schedule triggers.
 */
export const ACTION_RULE =
  'start (WorkflowExecutionStarted, incl. continue-as-new runs) + signal (WorkflowExecutionSignaled) + activity (ActivityTaskScheduled + retries) + timer (TimerStarted) + searchAttributes (UpsertWorkflowSearchAttributes) + other (markers such as patched(), external signals, child starts); heartbeats are not in histories and not counted';

export type ActionKind = 'start' | 'signal' | 'activity' | 'timer' | 'searchAttributes' | 'other';

export interface Tally {
  events: Record<string, number>;
  actions: Record<ActionKind, number>;
  /** Activity dispatches (attempts) on the controller task queue: what its rate limit meters. */
  controllerDispatches: number;
  /** Activity dispatches on the other task queues (Kubernetes activities, node agents). */
  nodeDispatches: number;
  /** Activities scheduled, by type. */
  activities: Record<string, number>;
}

export function emptyTally(): Tally {
  return { events: {}, actions: { start: 0, signal: 0, activity: 0, timer: 0, searchAttributes: 0, other: 0 }, controllerDispatches: 0, nodeDispatches: 0, activities: {} };
}

export const totalActions = (t: Tally): number => Object.values(t.actions).reduce((a, b) => a + b, 0);

export interface Window {
  name: string;
  fromMs: number;
  toMs: number;
}

const ACTION_OF: Record<string, ActionKind> = {
  WorkflowExecutionStarted: 'start',
  WorkflowExecutionSignaled: 'signal',
  ActivityTaskScheduled: 'activity',
  TimerStarted: 'timer',
  UpsertWorkflowSearchAttributes: 'searchAttributes',
  MarkerRecorded: 'other',
  SignalExternalWorkflowExecutionInitiated: 'other',
  StartChildWorkflowExecutionInitiated: 'other',
};

type HistoryEvent = { eventTime?: Parameters<typeof tsToMs>[0] } & Record<string, unknown>;

/** `activityTaskScheduledEventAttributes` -> `ActivityTaskScheduled`. */
function eventName(e: HistoryEvent): string {
  for (const [k, v] of Object.entries(e)) {
    if (k.endsWith('EventAttributes') && v !== null && v !== undefined) {
      const base = k.slice(0, -'EventAttributes'.length);
      return base[0]!.toUpperCase() + base.slice(1);
    }
  }
  return 'Unknown';
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

export interface CountResult {
  /** phase -> workflow type -> tally; events outside every window go to `other`. */
  byPhase: Record<string, Record<string, Tally>>;
  executions: number;
  continuedAsNew: number;
}

/** Fetches the history of every run on `taskQueue` and tallies its events into the windows. */
export async function countActions(client: Client, taskQueue: string, controllerTaskQueue: string, windows: Window[]): Promise<CountResult> {
  const runs: { workflowId: string; runId: string; type: string }[] = [];
  for await (const wf of client.workflow.list({ query: `TaskQueue="${taskQueue}"` })) runs.push({ workflowId: wf.workflowId, runId: wf.runId, type: wf.type });
  const byPhase: Record<string, Record<string, Tally>> = {};
  let continuedAsNew = 0;
  const tally = (phase: string, type: string) => ((byPhase[phase] ??= {})[type] ??= emptyTally());
  await mapLimit(runs, 8, async (r) => {
    const history = await client.workflow.getHandle(r.workflowId, r.runId).fetchHistory();
    const onController = new Map<string, boolean>(); // scheduled event ID -> on the controller task queue
    for (const raw of history.events ?? []) {
      const e = raw as unknown as HistoryEvent;
      const at = tsToMs(e.eventTime);
      const phase = windows.find((w) => at >= w.fromMs && at < w.toMs)?.name ?? 'other';
      const t = tally(phase, r.type);
      const name = eventName(e);
      t.events[name] = (t.events[name] ?? 0) + 1;
      const kind = ACTION_OF[name];
      if (kind) t.actions[kind]++;
      if (name === 'WorkflowExecutionContinuedAsNew') continuedAsNew++;
      if (name === 'ActivityTaskScheduled') {
        const a = e.activityTaskScheduledEventAttributes as { activityType?: { name?: string }; taskQueue?: { name?: string } };
        const type = a.activityType?.name ?? '?';
        t.activities[type] = (t.activities[type] ?? 0) + 1;
        const controller = a.taskQueue?.name === controllerTaskQueue;
        onController.set(String(e.eventId), controller);
        if (controller) t.controllerDispatches++;
        else t.nodeDispatches++;
      }
      if (name === 'ActivityTaskStarted') {
        const a = e.activityTaskStartedEventAttributes as { attempt?: number; scheduledEventId?: unknown };
        const retries = (a.attempt ?? 1) - 1;
        t.actions.activity += retries;
        if (onController.get(String(a.scheduledEventId))) t.controllerDispatches += retries;
        else t.nodeDispatches += retries;
      }
    }
  });
  return { byPhase, executions: runs.length, continuedAsNew };
}

/** Sum of the tallies of one phase across workflow types (or only `type`). */
export function phaseTally(r: CountResult, phase: string, type?: string): Tally {
  const out = emptyTally();
  for (const [t, x] of Object.entries(r.byPhase[phase] ?? {})) {
    if (type && t !== type) continue;
    for (const [k, v] of Object.entries(x.events)) out.events[k] = (out.events[k] ?? 0) + v;
    for (const k of Object.keys(out.actions) as ActionKind[]) out.actions[k] += x.actions[k];
    for (const [k, v] of Object.entries(x.activities)) out.activities[k] = (out.activities[k] ?? 0) + v;
    out.controllerDispatches += x.controllerDispatches;
    out.nodeDispatches += x.nodeDispatches;
  }
  return out;
}
