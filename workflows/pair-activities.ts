// The activities a pair's lifecycle calls, with their options: EC2 on the controller queue, Kubernetes reports on
// the controller's kube queue, the node agent on the node's own queue.
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Ec2Activities } from '../common/ec2-contract.js';
import type { KubeActivities } from '../activities/kube.js';
import type { NodeAgentActivities } from '../common/node-agent-contract.js';
import { NODE_AGENT_ERRORS } from '../common/node-agent-contract.js';
import { kubeTaskQueue, nodeTaskQueue } from '../common/names.js';

const RETRY = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' } as const;
/**
 * Attempts of a converge step before the pass gives up on it: a retryable error that persists (1+2+4+8+16+32 s
 * of backoff, about a minute) then shows as the attachment's message, Degraded and a Warning, and the pass is
 * retried on the failed-pair backoff instead of retrying silently forever.
 */
export const CONVERGE_ATTEMPTS = 7;
// EC2 calls are short, but the EC2 budget (activities/aws/ec2-budget.ts) may hold one for minutes while a fleet
// converges: it heartbeats meanwhile, so a worker that died is noticed within a minute and the call retried.
export const ec2Options: ActivityOptions = { startToCloseTimeout: '10m', heartbeatTimeout: '1m', retry: { ...RETRY, maximumAttempts: CONVERGE_ATTEMPTS } };
/** Freeing an ENI (detach, delete, compensation) retries until it succeeds: a release must finish. */
export const releaseOptions: ActivityOptions = { startToCloseTimeout: '10m', heartbeatTimeout: '1m', retry: RETRY };
export const waitOptions: ActivityOptions = { startToCloseTimeout: '10m', heartbeatTimeout: '30s', retry: RETRY };

export const ec2 = proxyActivities<Ec2Activities>(ec2Options);
export const ec2Waits = proxyActivities<Pick<Ec2Activities, 'waitAttached' | 'waitDetached'>>(waitOptions);

/** Kubernetes writes have their own queue next to the controller's (`-kube`). */
export function kubeOptions(controllerQueue: string): ActivityOptions {
  return { taskQueue: kubeTaskQueue(controllerQueue), startToCloseTimeout: '30s', retry: { ...RETRY, maximumInterval: '30s' } };
}
export function kubeActivities(controllerQueue: string) {
  return proxyActivities<Pick<KubeActivities, 'reportPair'>>(kubeOptions(controllerQueue));
}

/** The node agent: only that node polls its queue, so a task waits at most a minute for a node that is gone. */
export function agentOptions(nodeName: string): ActivityOptions {
  return {
    taskQueue: nodeTaskQueue(nodeName),
    scheduleToStartTimeout: '1m',
    startToCloseTimeout: '3m',
    heartbeatTimeout: '30s',
    retry: { ...RETRY, maximumAttempts: 5, nonRetryableErrorTypes: Object.values(NODE_AGENT_ERRORS) },
  };
}
export function agentActivities(nodeName: string) {
  return proxyActivities<Pick<NodeAgentActivities, 'configureInterface' | 'releaseInterface'>>(agentOptions(nodeName));
}
