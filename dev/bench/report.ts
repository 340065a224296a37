// Tables of a benchmark: plain text for the terminal, Markdown for the results file and the README section.
import { ACTION_RULE, totalActions, type Tally } from './actions.js';
import type { BucketSpec } from '../stack/ec2-buckets.js';
import { CLUSTER_COMPONENTS } from '../stack/temporal-cluster.js';
import type { ProxyCalls } from './ec2-env.js';
import type { RunResult } from './fleet-run.js';

export interface Machine {
  nproc: number;
  memGiB: number;
  cpuModel: string;
  node: string;
  loadAvgAtStart: number[];
}

export interface BenchReport {
  startedAt: string;
  command: string;
  machine: Machine;
  stack: string;
  /** The private EC2 emulator's settings as its proxy reported them at start (absent in older results). */
  ec2?: { semantics?: Record<string, unknown>; buckets?: { enabled: boolean; overrides: Record<string, BucketSpec> } };
  runs: RunResult[];
  failures: { label: string; nodes: number; error: string }[];
}

type Table = { head: string[]; rows: string[][] };

const f1 = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x.toFixed(1) : '-');
const f2 = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x.toFixed(2) : '-');
const f3 = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x.toFixed(3) : '-');
const n0 = (x: number | undefined) => (x === undefined ? '-' : String(x));
/** By-key counts as "k n, k n" (Network Interface shortened), or `none`. */
const counts = (m: Record<string, number> | undefined, none = '0') =>
  m === undefined
    ? '-'
    : Object.entries(m)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, n]) => `${k.replace('NetworkInterface', 'NI')} ${n}`)
        .join(', ') || none;
const pairs = (r: RunResult) => r.nodes * 2;

function perEni(c: ProxyCalls, enis: number): string {
  return Object.entries(c.byAction)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([a, n]) => `${a.replace('NetworkInterface', 'NI')} ${f2(n / enis)}`)
    .join(', ');
}

function actionsPerEni(t: Tally, enis: number): string {
  return Object.entries(t.actions)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${f2(n / enis)}`)
    .join(', ');
}

const nodeSide = (r: RunResult) => (r.agent === 'real' ? 'SimulatedNode + real agent' : 'fleet-agent stand-in');
const scenario = (r: RunResult) => `${r.label}${r.temporal?.mode === 'cluster' ? ' [cluster]' : ''}${r.latencyMs ? ` (+${r.latencyMs} ms/call)` : ''}`;

/** The Temporal processes of a run's CPU table: the dev server, or the cluster's services and PostgreSQL. */
const TEMPORAL_PROCS: readonly string[] = ['temporal', ...CLUSTER_COMPONENTS];

/** What the Temporal engine spent per ENI: its processes' CPU and, on the cluster, PostgreSQL's writes. */
export function temporalTable(runs: RunResult[]): Table {
  const cpuPerEni = (r: RunResult, phase: string, enis: number) => {
    const procs = r.cpu[phase]?.procs.filter((p) => TEMPORAL_PROCS.includes(p.name));
    return procs?.length ? f3(procs.reduce((sum, p) => sum + p.cpuS, 0) / enis) : '-';
  };
  const pg = (r: RunResult, phase: 'apply' | 'teardown', enis: number) => {
    const w = r.temporal?.pg?.[phase];
    return w ? `${n0(Math.round(w.rows / enis))} / ${f1(w.walBytes / 1024 / enis)}` : '-';
  };
  return {
    head: ['run', 'nodes', 'engine', 'Temporal CPU s per ENI attach / release', 'PostgreSQL rows / WAL KiB per ENI attach', 'PostgreSQL rows / WAL KiB per ENI release'],
    rows: runs.map((r) => [
      scenario(r), String(r.nodes), r.temporal?.mode === 'cluster' ? 'cluster (frontend, history, matching, worker; PostgreSQL)' : 'dev server (SQLite)',
      `${cpuPerEni(r, 'apply', r.enis)} / ${cpuPerEni(r, 'teardown', released(r))}`, pg(r, 'apply', r.enis), pg(r, 'teardown', released(r)),
    ]),
  };
}

/** ENIs the teardown released (older results: the fleet's). */
const released = (r: RunResult) => r.enisReleased ?? r.enis;

/**
 * A process's CPU seconds while converging and tearing down, and its peak resident set: VmHWM, the process's
 * lifetime peak, read at the end of each phase, so the largest reading is the peak of the whole run.
 */
function usage(r: RunResult, name: string): { cpuS: number; peakMiB: number } | undefined {
  const a = r.cpu.apply?.procs.find((p) => p.name === name);
  if (!a) return undefined;
  const t = r.cpu.teardown?.procs.find((p) => p.name === name);
  const peaks = Object.values(r.cpu).flatMap((c) => c.procs.filter((p) => p.name === name).map((p) => p.peakMiB));
  return { cpuS: a.cpuS + (t?.cpuS ?? 0), peakMiB: Math.max(...peaks) };
}

/** The bucket bound in seconds, and its limiting bucket ("burst" when every bucket's capacity covers its calls). */
const boundCell = (r: RunResult) => (r.ec2Bound ? f1(r.ec2Bound.seconds) : '-');
const limitingCell = (r: RunResult) => (r.ec2Bound ? (r.ec2Bound.limitingBucket ?? 'none (within burst)') : '-');
const convBound = (r: RunResult) => (r.converged && r.ec2Bound && r.ec2Bound.seconds > 0 ? f2(r.convergeS / r.ec2Bound.seconds) : '-');

export function mainTable(runs: RunResult[]): Table {
  return {
    head: [
      'run', 'nodes', 'ENIs', 'node side', 'controller EC2 pacing', 'converge s', 'Ready p50 / p99 s', 'bound s', 'conv/bound', 'limiting bucket', 'throttled converge / teardown',
      'EC2/ENI attach', 'EC2/ENI release', 'actions/ENI attach', 'actions/ENI release', 'teardown s', 'ENIs left', 'controller CPU s', 'controller peak RSS MiB', 'watcher CPU s / peak MiB',
    ],
    rows: runs.map((r) => {
      const c = usage(r, 'controller');
      const w = usage(r, 'watcher');
      return [
        scenario(r), String(r.nodes), String(r.enis), nodeSide(r), pacing(r),
        r.converged ? f1(r.convergeS) : `timeout ${f1(r.convergeS)}`,
        `${f1(r.readyS.p50)} / ${f1(r.readyS.p99)}${r.converged ? '' : ` (${r.readyS.n} of ${r.enis} Ready)`}`,
        boundCell(r), convBound(r), limitingCell(r), `${n0(r.ec2Apply.throttled)} / ${n0(r.ec2Teardown.throttled)}`,
        f2(r.ec2Apply.total / r.enis), f2(r.ec2Teardown.total / released(r)),
        f2(totalActions(r.actionsApply) / r.enis), f2(totalActions(r.actionsTeardown) / released(r)),
        f1(r.teardownS), String(r.enisLeft), f1(c?.cpuS), c ? String(Math.round(c.peakMiB)) : '-', w ? `${f1(w.cpuS)} / ${Math.round(w.peakMiB)}` : '-',
      ];
    }),
  };
}

/** One node joining a cluster at rest: its ENIs' time to Ready against the floor of their EC2 steps. */
export function joinTable(runs: RunResult[]): Table {
  const ms = (x: number | undefined) => (x === undefined ? '?' : String(Math.round(x)));
  return {
    head: ['run', 'cluster nodes', 'joining node', 'ENIs', 'join s', 'floor s', 'join/floor', 'floor: slowest ENI create + attach + attaching + modify ms', 'EC2 calls during the join', 'throttled', 'notes'],
    rows: runs
      .filter((r) => r.join)
      .map((r) => {
        const j = r.join!;
        const s = j.slowest;
        return [
          scenario(r), String(j.clusterNodes), j.node, String(j.enis), j.complete ? f1(j.seconds) : `timeout ${f1(j.seconds)}`, f1(j.floorS),
          j.complete && j.floorS ? f2(j.seconds / j.floorS) : '-',
          s ? `${s.eniId}: ${ms(s.createMs)} + ${ms(s.attachMs)} + ${ms(s.attachingMs)} + ${ms(s.modifyMs)}` : '-',
          `${j.calls.total} (${counts(j.calls.byAction)})`, n0(j.calls.throttled), j.notes.join('; ') || '-',
        ];
      }),
  };
}

/** How the controller paced EC2: a task-queue rate (older results, or EC2_RATE_LIMIT set) and/or its EC2 budget. */
function pacing(r: RunResult): string {
  return [r.rate !== undefined ? `${r.rate}/s task queue` : '', r.budget ?? ''].filter(Boolean).join(' + ') || '-';
}

export function breakdownTable(runs: RunResult[]): Table {
  return {
    head: [
      'run', 'nodes', 'status poll ms (mean/max)', 'EC2 calls per ENI attach', 'EC2 calls per ENI release', 'admitted calls by bucket while converging (the bound\'s input)', 'throttled by action converge; teardown', 'not ok',
      'actions per ENI attach', 'actions per ENI release', 'activities (rate-limited controller queue + Kubernetes and node queues) per ENI attach', 'controller rate bound s (controller-queue dispatches ÷ rate)',
    ],
    rows: runs.map((r) => [
      scenario(r), String(r.nodes), `${Math.round(r.pollGapMs.mean)}/${Math.round(r.pollGapMs.max)}`, perEni(r.ec2Apply, r.enis), perEni(r.ec2Teardown, released(r)),
      r.ec2Bound ? counts(r.ec2Bound.okCalls) : '-',
      `${counts(r.ec2Apply.throttledByAction)}; ${counts(r.ec2Teardown.throttledByAction)}`,
      Object.entries({ ...r.ec2Apply.notOk, ...r.ec2Teardown.notOk }).map(([k, n]) => `${k} ${n}`).join(', ') || '0',
      actionsPerEni(r.actionsApply, r.enis), actionsPerEni(r.actionsTeardown, released(r)),
      `${f2(r.actionsApply.controllerDispatches / r.enis)} + ${f2(r.actionsApply.nodeDispatches / r.enis)}`,
      f1(r.controllerRateBoundS ?? r.boundS),
    ]),
  };
}

/** Activities scheduled per ENI, by type: where the actions (and the rate budget) go. */
export function activityTable(runs: RunResult[]): Table {
  const types = [...new Set(runs.flatMap((r) => [...Object.keys(r.actionsApply.activities), ...Object.keys(r.actionsTeardown.activities)]))].sort();
  return {
    head: ['run', 'nodes', 'phase', ...types],
    rows: runs.flatMap((r) =>
      (
        [
          ['attach', r.actionsApply],
          ['release', r.actionsTeardown],
        ] as const
      ).map(([phase, t]) => [scenario(r), String(r.nodes), phase, ...types.map((k) => f2((t.activities[k] ?? 0) / (phase === 'attach' ? r.enis : released(r))))]),
    ),
  };
}

export function restTable(runs: RunResult[]): Table {
  const perHour = (n: number, r: RunResult) => (n * 3600) / (r.rest!.simulatedMin * 60);
  return {
    head: ['run', 'nodes', 'pairs', 'window', 'EC2 calls/h per pair', 'actions/h per pair', 'watcher restart: signals, actions per pair', 'fleet sweep: s, EC2 calls, actions per run', 'sweep per hour (every 300 s)'],
    rows: runs
      .filter((r) => r.rest)
      .map((r) => {
        const x = r.rest!;
        const sweep = x.sweep ? `${f1(x.sweep.seconds)} s, ${x.sweep.ec2Calls.total} (${perEni(x.sweep.ec2Calls, 1)}), ${totalActions(x.sweep.actions)}` : 'failed';
        return [
          scenario(r), String(r.nodes), String(pairs(r)), `${x.windowS} s wall = ${x.relists} relists = ${x.simulatedMin} min at 300 s relist`,
          f2(perHour(x.ec2Calls.total, r) / pairs(r)), f2(perHour(totalActions(x.actions), r) / pairs(r)),
          `${x.watcherRestart.signals}, ${f2(totalActions(x.watcherRestart.actions) / pairs(r))}`, sweep,
          x.sweep ? `${x.sweep.ec2Calls.total * 12} EC2 calls, ${totalActions(x.sweep.actions) * 12} actions (per cluster)` : '-',
        ];
      }),
  };
}

/**
 * What the apiserver did for status: each pair's writes of its NodeENIAttachment object, the watcher's writes of the
 * NodeENIs' status (older results: every pair's entries landed in the NodeENI, by PATCH), and the largest NodeENI.
 */
export function kubeTable(runs: RunResult[]): Table {
  return {
    head: ['run', 'nodes', 'phase', 'status writes by resource, verb and HTTP code', 'mean write s', 'etcd writes per write', 'watch events (MiB)', 'largest NodeENI KB'],
    rows: runs.flatMap((r) =>
      Object.entries(r.kube).map(([phase, k]) => {
        const n = Object.values(k.statusApplies).reduce((a, b) => a + b, 0);
        return [
          scenario(r), String(r.nodes), phase,
          Object.entries(k.statusApplies).map(([c, x]) => `${c}: ${x}`).join(', ') || '0',
          f2(k.statusApplySeconds / Math.max(n, 1)), f1(k.etcdUpdates / Math.max(n, 1)), `${k.watchEvents} (${f1(k.watchMiB)})`,
          phase === 'apply' && r.maxNodeENIBytes !== undefined ? f1(r.maxNodeENIBytes / 1024) : '-',
        ];
      }),
    ),
  };
}

export function cpuTable(runs: RunResult[], phase = 'apply'): Table {
  const names = [...new Set(runs.flatMap((r) => r.cpu[phase]?.procs.map((p) => p.name) ?? []))];
  return {
    head: ['run', 'nodes', `${phase} wall s`, 'machine busy cores', ...names.map((n) => `${n} CPU s (cores)`)],
    rows: runs.map((r) => {
      const c = r.cpu[phase];
      if (!c) return [scenario(r), String(r.nodes), '-', '-', ...names.map(() => '-')];
      return [
        scenario(r), String(r.nodes), f1(c.wallS), `${f2(c.machine.busyCores)} of ${c.machine.cores}`,
        ...names.map((n) => {
          const p = c.procs.find((x) => x.name === n);
          return p ? `${f1(p.cpuS)} (${f2(p.cores)})` : '-';
        }),
      ];
    }),
  };
}

export function text(t: Table): string {
  const w = t.head.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(w[i]!)).join('  ');
  return [line(t.head), w.map((n) => '-'.repeat(n)).join('  '), ...t.rows.map(line)].join('\n');
}

export function markdown(t: Table): string {
  const esc = (s: string) => s.replaceAll('|', '\\|');
  return [`| ${t.head.map(esc).join(' | ')} |`, `| ${t.head.map(() => '---').join(' | ')} |`, ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

export function machineLine(m: Machine): string {
  return `${m.nproc} CPUs (${m.cpuModel}), ${m.memGiB.toFixed(0)} GiB, Node ${m.node}; load average at start ${m.loadAvgAtStart.map((x) => x.toFixed(2)).join(' ')} (other engineers' test runs share the machine)`;
}

export const METHOD = [
  'Each run: N nodes (instances in the EC2 emulator, Node objects in the kube-apiserver), two NodeENIs applied at once (one with two subnets, one with one: 3 ENIs per node, 2 pairs per node).',
  'converge: apply to every attachment first seen Ready in the NodeENI status (status polled; the per-attachment times have the poll interval as resolution).',
  'EC2: the bench\'s private moto_server behind the EC2 proxy (dev/stack/ec2-proxy.ts) in its default, strict mode: EC2\'s per-action token buckets, `attaching`/`detaching` windows drawn from a range by a seeded PRNG, ClientToken idempotency, device-index conflicts, attachments only within the instance\'s AZ and up to its type\'s ENIs (m5.4xlarge: 8), in-use refusals; the settings read from the proxy at start are in the stack line. Every instance and subnet of the bench is in one AZ.',
  'bound s, the bucket bound: the least time EC2\'s token buckets allow for the calls the converge phase needed, from the calls the buckets admitted while converging (every call not throttled: a refused one took its token too), by bucket (detailed table): n calls through a bucket of capacity C refilled at r per s take max(0, (n − C) / r) s from a full bucket; the buckets are independent, so the bound is the largest of them, and "limiting bucket" names it (dev/stack/ec2-buckets.ts, bucketBound). The numbers are AWS\'s, from the Amazon EC2 Developer Guide, "Request throttling for the Amazon EC2 API" (sections "Request token bucket sizes and refill rates" and "Uncategorized actions"): mutating actions such as AttachNetworkInterface and DetachNetworkInterface 50 and 5/s; CreateNetworkInterface, DeleteNetworkInterface and ModifyNetworkInterfaceAttribute 100 and 5/s; DescribeNetworkInterfaces 100 and 20/s with a filter or pagination, 50 and 10/s without; other describes 100 and 20/s (the proxy\'s overrides, if any, replace them). The private proxy enforces the same buckets, and the bench waits for them to be full before the apply and before the join. conv/bound near 1 means the run went as fast as EC2 lets anyone go; "-" when every bucket\'s burst covers its calls (bound 0). The bound ignores the order the calls must go in (an attach after its create, the `attaching` window): the join\'s floor is that.',
  'throttled: calls the proxy answered 503 RequestLimitExceeded (a bucket empty; the sum over the buckets), while converging / while tearing down; by action in the detailed table. The controller retries them.',
  'controller EC2 pacing: how the controller spaced its EC2 calls. Since the lifecycle rebuild, per-action token buckets mirroring EC2\'s own (activities/aws/ec2-budget.ts; EC2_BUDGET_SCALE, EC2_BUDGET_OVERRIDES), so describes never wait behind creates; before it, or when EC2_RATE_LIMIT is set, one rate for every activity on the controller task queue (Temporal\'s maxTaskQueueActivitiesPerSecond, enforced by the server across replicas). The detailed table gives the time such a rate alone allows: activity dispatches on that queue while converging (from the histories) ÷ the rate.',
  'join: one more instance and Node object on a converged cluster at rest (the first fleet of a run, after its at-rest phase; and the `join` scenario, a cluster of --scenario-nodes without an at-rest phase); its node side is up first. join s: Node created to its 3 attachments first seen Ready. floor s: for each of its ENIs, the answer times the proxy measured for its CreateNetworkInterface + AttachNetworkInterface + the `attaching` window the emulator drew at that attach + ModifyNetworkInterfaceAttribute (DeleteOnTermination), in series, from the proxy\'s call records after a calls reset just before the join (only calls answered ok, the first of each); the floor is the largest over the node\'s ENIs, which EC2 could handle side by side. Not in the floor: the watcher noticing the node, workflow and activity scheduling, the confirming describes, the node agent\'s configure, the status writes, and the controller doing a NodeENI\'s subnets one after the other (the two-subnet NodeENI\'s ENIs are in series in its pair).',
  'EC2 calls: counted at the proxy in front of moto (every call the controller made, answered or refused), counters reset before the apply, the join and the teardown. The benchmark runs its own moto + proxy, so faults never reach shared tests. Per ENI release: over the ENIs the teardown released (the fleet\'s and a joined node\'s).',
  `Temporal actions: from the event histories of every run on the benchmark's task queue, bucketed by event time. Counted: ${ACTION_RULE}.`,
  'A run that does not converge within its timeout is torn down anyway: its per-ENI figures are over the ENIs that got that far, its Ready percentiles over the attachments that became Ready, and it has no conv/bound and no at-rest phase.',
  'At rest: the watcher is restarted with WATCHER_RELIST_SECONDS=5 (its relist is the only clock-driven work of a pair at rest: the workflows hold no timers); after its restart burst settles, EC2 calls (proxy) and history events are counted over the window and scaled to per hour as if each relist were the default 300 s one. The fleet sweep (a per-cluster schedule, default every 300 s) is paused during the other phases and measured once by a manual trigger.',
  'CPU and peak memory: utime+stime (while converging and tearing down) and VmHWM (peak RSS over the process\'s life) from /proc for the controller (worker) and watcher processes, the bench process (which plays the nodes and polls the status), the private moto and proxy, and the stack\'s Temporal (dev server, or each service of the cluster and PostgreSQL with its backends), kube-apiserver and etcd (on a shared stack those include other users\' load); "machine busy cores" is the whole machine (/proc/stat), other tenants included.',
  'Status requests: deltas of the kube-apiserver\'s own counters (apiserver_request_total / _duration_seconds) for nodeeniattachments (each pair writes its own object: PATCH, a 404 then POST when it has none yet, DELETE on release) and nodeenis/status (the watcher\'s conditions, counts and bounded list, by merge PATCH; results before NodeENIAttachment: APPLY by the watcher and every pair\'s entries by PATCH), etcd_request_duration_seconds_count for their creates, updates and deletes, apiserver_watch_events_* for both. etcd writes per write above 1 are optimistic-concurrency attempts redone inside the apiserver (plus finalizer patches and spec changes). Largest NodeENI: the JSON size of the biggest NodeENI object the Ready polls saw while converging.',
  'The Temporal engine: the stack\'s dev server (one process, SQLite), or with --temporal cluster the multi-service cluster (dev/stack/temporal-cluster.ts: frontend, history, matching and worker as separate processes, PostgreSQL for both stores, MULTI_ENI_TEMPORAL_SHARDS history shards, default 4). Its CPU: the dev server, or the four services plus PostgreSQL with every backend it forked (the postmaster\'s own and reaped children\'s time plus each live backend\'s), per ENI attached or released. PostgreSQL rows: inserted + updated + deleted in the temporal and temporal_visibility databases (pg_stat_database; a backend reports at most once a second, so a reading lags by about that); WAL KiB: pg_current_wal_lsn() moved over the phase (every database, exact), read before the apply and 5 s after converge, before and after the teardown.',
  'teardown: NodeENIs deleted to every ENI of the run gone from EC2; ENIs left = ENIs with the run\'s cluster tag still in EC2 at the end.',
];

export function renderMarkdown(rep: BenchReport): string {
  const agents = [...new Set(rep.runs.map((r) => nodeSide(r)))].join('; ');
  return [
    `Command: \`${rep.command}\` (${rep.startedAt})`,
    '',
    `Machine: ${machineLine(rep.machine)}. Stack: ${rep.stack}.`,
    '',
    `Node side: ${agents}. The fleet agent (dev/bench/fleet-agent.ts) is a stand-in for the node agent, not the product: one Temporal worker per node task queue sharing one connection, answering configure/release from an in-memory link table that follows EC2 attachments (no netns, no sysfs). "real" is dev/stack/sim/simulated-node.ts with the real node agent.`,
    '',
    markdown(mainTable(rep.runs)),
    '',
    ...(rep.runs.some((r) => r.join) ? ['Single-node join (one node joining the converged cluster at rest):', '', markdown(joinTable(rep.runs)), ''] : []),
    markdown(breakdownTable(rep.runs)),
    '',
    'Activities per ENI, by type:',
    '',
    markdown(activityTable(rep.runs)),
    '',
    rep.runs.some((r) => r.rest) ? markdown(restTable(rep.runs)) : '',
    '',
    'CPU while converging (apply phase):',
    '',
    markdown(cpuTable(rep.runs, 'apply')),
    '',
    'NodeENI requests at the kube-apiserver (its /metrics):',
    '',
    markdown(kubeTable(rep.runs)),
    '',
    'The Temporal engine per ENI:',
    '',
    markdown(temporalTable(rep.runs)),
    '',
    rep.failures.length ? `Failed runs: ${rep.failures.map((f) => `${f.label} ${f.nodes} nodes: ${f.error}`).join('; ')}` : '',
    '',
    'Method:',
    '',
    ...METHOD.map((m) => `- ${m}`),
  ].join('\n');
}

export function renderText(rep: BenchReport): string {
  return [
    `machine: ${machineLine(rep.machine)}`,
    `stack: ${rep.stack}`,
    '',
    text(mainTable(rep.runs)),
    '',
    ...(rep.runs.some((r) => r.join) ? ['single-node join (one node joining the converged cluster at rest):', text(joinTable(rep.runs)), ''] : []),
    text(breakdownTable(rep.runs)),
    '',
    'activities per ENI, by type:',
    text(activityTable(rep.runs)),
    '',
    rep.runs.some((r) => r.rest) ? text(restTable(rep.runs)) : '',
    '',
    'CPU while converging:',
    text(cpuTable(rep.runs, 'apply')),
    '',
    'CPU during teardown:',
    text(cpuTable(rep.runs, 'teardown')),
    '',
    'NodeENI requests at the kube-apiserver:',
    text(kubeTable(rep.runs)),
    '',
    'the Temporal engine per ENI:',
    text(temporalTable(rep.runs)),
    ...rep.runs.flatMap((r) => r.errors.map((e) => `! ${r.label} ${r.nodes}: ${e}`)),
    ...rep.failures.map((f) => `! FAILED ${f.label} ${f.nodes} nodes: ${f.error}`),
  ].join('\n');
}
