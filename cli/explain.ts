// "Why is this stuck?" in plain words: what a pair is doing, from the NodeENI's status entries for the node, the
// pair workflow's pending activity (with its attempt and last failure) and the workflow's own state. Pure: the
// facts are gathered elsewhere (cli/why.ts); every wording decision is here, tested directly.
import type { AttachmentStatus } from '../common/nodeeni.js';

export interface PendingActivity {
  type: string;
  attempt: number;
  /** SCHEDULED (no worker took it yet), STARTED, CANCEL_REQUESTED … */
  state: string;
  lastFailure?: string;
  /** When the current attempt was scheduled or started (ISO). */
  since?: string;
}

export interface PairFacts {
  nodeENI: string;
  node: string;
  workflowId: string;
  /** RUNNING, COMPLETED, … or undefined when there is no such workflow. */
  workflowStatus?: string;
  pending: PendingActivity[];
  /** From the workflow's `state` query (running workflows only). */
  state?: { phase: string; converging: boolean; releasing: boolean; lastError?: string };
  entries: AttachmentStatus[];
  webUi?: string;
}

export interface Explanation {
  /** One line: what is happening. */
  summary: string;
  /** Details, one fact a line. */
  details: string[];
  /** What to do, when anything. */
  todo?: string;
}

/** What to do about a failure, by what it says (types and messages the controller and EC2 use). */
export function adviceFor(failure: string, node: string): string | undefined {
  const rules: [RegExp, string][] = [
    [/InstanceNotInCluster|does not carry the tag/, `tag the node's instance with kubernetes.io/cluster/<clusterName>=owned (EKS node groups do), or check that node ${node} is this cluster's`],
    [/no listed subnet is in/, "list a subnet of the node's availability zone in the NodeENI, or keep the NodeENI off that zone with its nodeSelector"],
    [/NetworkNotUsable|InvalidSubnetID|InvalidGroup|SecurityGroupNotFound|SubnetNotFound|AmbiguousName/, 'fix the subnet or security group named in the message (spec field in brackets) and apply the NodeENI again'],
    [/NoFreeDeviceIndex|AttachmentLimitExceeded|no free device index/, "free a device slot on the node (another NodeENI's ENI), or use an instance type that takes more network interfaces"],
    [/RequestLimitExceeded|Throttling|Ec2BudgetExceeded/, 'EC2 is throttling this account: it clears by itself; if it persists, lower other EC2 callers or see aws.ec2Budget in the chart'],
    [/InternalError|InternalFailure|ServiceUnavailable/, 'EC2 answers with a server error: it usually clears by itself; if it persists, check the AWS Health Dashboard for the region'],
    [/UnauthorizedOperation|AuthFailure|InvalidClientTokenId/, "the controller's IAM role lacks this permission: compare it with deploy/iam-policy.json"],
    [/ECONNREFUSED|apiserver|Unavailable|ETIMEDOUT/, 'a service the controller calls is unreachable: check the kube-apiserver and the EC2 endpoint from the controller pod'],
  ];
  return rules.find(([re]) => re.test(failure))?.[1];
}

const ago = (since: string | undefined, now: Date): string => {
  if (!since) return '';
  const s = Math.max(0, Math.round((now.getTime() - new Date(since).getTime()) / 1000));
  return s < 120 ? ` for ${s} s` : ` for ${Math.round(s / 60)} min`;
};

export function explainPair(f: PairFacts, now = new Date()): Explanation {
  const details = f.entries.map(
    (e) => `subnet ${e.subnetID}: ${e.phase ?? e.status ?? '?'}${e.eniID ? ` ${e.eniID}` : ''}${e.deviceIndex !== undefined ? ` at index ${e.deviceIndex}` : ''}${e.interfaceName ? ` (${e.interfaceName})` : ''}${e.message ? ` — ${e.message}` : ''}`,
  );
  if (f.webUi) details.push(`history: ${f.webUi}`);
  if (!f.workflowStatus) {
    return {
      summary: `no lifecycle for node ${f.node}: the watcher has not started one`,
      details,
      todo: `check that node ${f.node} matches the nodeSelector and has spec.providerID, and that the controller runs (kubectl -n <namespace> logs deploy/multi-eni-controller)`,
    };
  }
  if (f.workflowStatus !== 'RUNNING') {
    return { summary: `the lifecycle on ${f.node} has ended (${f.workflowStatus}): ${f.state?.releasing ? 'released' : 'nothing runs for this pair'}`, details };
  }
  // The step the pair waits on, most telling first: one that failed before, then one no worker took.
  const retrying = f.pending.filter((p) => p.attempt > 1 || p.lastFailure).sort((a, b) => b.attempt - a.attempt)[0];
  if (retrying) {
    const failure = retrying.lastFailure ?? 'no failure recorded';
    const todo = adviceFor(failure, f.node);
    return {
      summary: `${f.state?.releasing ? 'releasing' : 'converging'} on ${f.node}, stuck retrying ${retrying.type}: attempt ${retrying.attempt}${ago(retrying.since, now)}; last failure: ${failure}`,
      details,
      ...(todo ? { todo } : {}),
    };
  }
  const unclaimed = f.pending.find((p) => p.state === 'SCHEDULED');
  if (unclaimed && /^(configureInterface|releaseInterface)$/.test(unclaimed.type)) {
    return {
      summary: `waiting for the node agent on ${f.node} to take ${unclaimed.type}${ago(unclaimed.since, now)}`,
      details,
      todo: `check the node agent pod on ${f.node} (kubectl -n <namespace> get pods -l app.kubernetes.io/component=node-agent --field-selector spec.nodeName=${f.node}) and that it reaches Temporal`,
    };
  }
  if (unclaimed) {
    return {
      summary: `${unclaimed.type} on ${f.node} waits for a controller worker${ago(unclaimed.since, now)}`,
      details,
      todo: 'check that the controller pods run and reach Temporal (their /readyz says why not)',
    };
  }
  const inFlight = f.pending[0];
  if (inFlight) return { summary: `working on ${f.node}: ${inFlight.type}${ago(inFlight.since, now)}`, details };
  const phase = f.state?.phase ?? 'unknown';
  if (phase === 'Failed' && f.state?.lastError) {
    const todo = adviceFor(f.state.lastError, f.node);
    return { summary: `failed on ${f.node}, retried on its backoff: ${f.state.lastError}`, details, ...(todo ? { todo } : {}) };
  }
  const waiting = f.entries.find((e) => e.phase === 'Pending' && e.message);
  if (waiting) {
    const todo = adviceFor(waiting.message!, f.node);
    return { summary: `waiting on ${f.node}: ${waiting.message}`, details, ...(todo ? { todo } : {}) };
  }
  return { summary: phase === 'Ready' ? `Ready on ${f.node}: nothing to do` : `${phase} on ${f.node}, nothing pending`, details };
}

/** The report as printed. */
export function formatExplanations(name: string, conditions: string[], pairs: Explanation[]): string {
  const out = [`NodeENI ${name}`, ...conditions.map((c) => `  ${c}`)];
  for (const p of pairs) {
    out.push('', `- ${p.summary}`, ...p.details.map((d) => `    ${d}`));
    if (p.todo) out.push(`    what to do: ${p.todo}`);
  }
  return `${out.join('\n')}\n`;
}
