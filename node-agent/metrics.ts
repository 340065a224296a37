// The node agent's Prometheus metrics: configure and release calls by outcome (and how long they took), and when
// the agent last looked at the node's hardware (the links, by MAC). Served by the process entry on /metrics.
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { NODE_AGENT_ERRORS, type NodeAgentActivities } from '../common/node-agent-contract.js';

const KNOWN_FAILURES = new Set<string>(Object.values(NODE_AGENT_ERRORS));

/**
 * Pure: the outcome label of one call. `ok`; `cancelled`; a non-retryable failure by its type (LinkNotFound,
 * InvalidNodeAgentInput, DeviceRefused); anything else `error` (Temporal retries it). Bounded, so the label
 * set stays small whatever an error says.
 */
export function operationOutcome(err?: unknown): string {
  if (err === undefined) return 'ok';
  if (err instanceof CancelledFailure) return 'cancelled';
  if (err instanceof ApplicationFailure && err.type && KNOWN_FAILURES.has(err.type)) return err.type;
  return 'error';
}

export class NodeAgentMetrics {
  readonly registry = new Registry();
  readonly operations = new Counter({
    name: 'multi_eni_node_agent_operations_total',
    help: 'Node agent activity calls by operation (configure, release) and outcome (ok, cancelled, LinkNotFound, InvalidNodeAgentInput, DeviceRefused, error)',
    labelNames: ['operation', 'outcome'],
    registers: [this.registry],
  });
  readonly operationSeconds = new Histogram({
    name: 'multi_eni_node_agent_operation_seconds',
    help: 'Duration of node agent activity calls by operation (a configure includes its wait for the hot-plugged link)',
    labelNames: ['operation'],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60],
    registers: [this.registry],
  });
  readonly lastHardwarePoll = new Gauge({
    name: 'multi_eni_node_agent_last_hardware_poll_timestamp_seconds',
    help: "Unix time the agent last listed the node's links (looking for an ENI by MAC); 0 before the first look",
    registers: [this.registry],
  });

  constructor(now: () => number = Date.now) {
    this.now = now;
    collectDefaultMetrics({ register: this.registry, prefix: 'multi_eni_node_agent_' });
    this.lastHardwarePoll.set(0);
    // Every label pair exists from the start, so a rate() over a fresh agent is 0 rather than absent.
    for (const operation of ['configure', 'release']) this.operations.inc({ operation, outcome: 'ok' }, 0);
  }

  private readonly now: () => number;

  hardwarePolled(): void {
    this.lastHardwarePoll.set(this.now() / 1000);
  }

  /** The same activities, each call counted by outcome and timed. */
  instrument(activities: NodeAgentActivities): NodeAgentActivities {
    const wrap = <I, O>(operation: string, fn: (input: I) => Promise<O>) => async (input: I): Promise<O> => {
      const end = this.operationSeconds.startTimer({ operation });
      try {
        const out = await fn(input);
        this.operations.inc({ operation, outcome: operationOutcome() });
        return out;
      } catch (err) {
        this.operations.inc({ operation, outcome: operationOutcome(err) });
        throw err;
      } finally {
        end();
      }
    };
    return {
      configureInterface: wrap('configure', (i) => activities.configureInterface(i)),
      releaseInterface: wrap('release', (i) => activities.releaseInterface(i)),
    };
  }
}
