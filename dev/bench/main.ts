// `npm run bench`: convergence time, EC2 calls and Temporal actions per ENI, and what the controller costs at
// rest, for fleets of simulated nodes on the local stack. See dev/bench/report.ts (METHOD) for how each is measured.
//
//   npm run bench                                   # quick: 10 nodes, then one node joining them
//   npm run bench -- --fleets 10,100,500 --scenarios latency,ratelimit,join --readme
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { readState, stackHealthy, startStack, stopStack, type StackState } from '../stack/stack.js';
import { REPO_ROOT } from '../stack/paths.js';
import { temporalMode } from '../stack/temporal-cluster.js';
import { PrivateEc2 } from './ec2-env.js';
import { interrupt, runFleet, type AgentKind, type RunOptions, type RunResult } from './fleet-run.js';
import { describeEc2 } from './ec2-bound.js';
import { renderMarkdown, renderText, type BenchReport } from './report.js';

const { values: a } = parseArgs({
  options: {
    fleets: { type: 'string', default: '10' },
    temporal: { type: 'string' },
    scenarios: { type: 'string', default: '' },
    'scenario-nodes': { type: 'string', default: '10' },
    'latency-ms': { type: 'string', default: '100' },
    rate: { type: 'string', default: '5' },
    agent: { type: 'string', default: 'auto' },
    'rest-relists': { type: 'string', default: '12' },
    'relist-seconds': { type: 'string', default: '5' },
    'no-rest': { type: 'boolean', default: false },
    'no-join': { type: 'boolean', default: false },
    env: { type: 'string', multiple: true, default: [] },
    timeout: { type: 'string' },
    readme: { type: 'boolean', default: false },
    render: { type: 'string' },
    exclude: { type: 'string', default: '' },
    help: { type: 'boolean', default: false },
  },
});

if (a.help) {
  console.log(`usage: npm run bench -- [--fleets 10,100,500] [--temporal dev|cluster] [--scenarios latency,ratelimit,join] [--scenario-nodes 10]
  [--latency-ms 100] [--rate 5] [--agent auto|real|fleet] [--rest-relists 12] [--relist-seconds 5] [--no-rest] [--no-join]
  [--env KEY=VALUE ...] (controller environment, e.g. EC2_RATE_LIMIT=20, POLL_MS=1000) [--timeout S] [--readme]
  npm run bench -- --render dev/bench/results/A.json,dev/bench/results/B.json [--exclude RUN_ID,...] [--readme]   (earlier runs' tables, merged)

EC2 is the private, strict emulator: EC2's per-action token buckets and attaching/detaching windows, as the proxy
reports them at start. Each fleet prints its bucket bound (the least time EC2's buckets allow for its calls) and
converge ÷ bound. The single-node join (one node joining a converged cluster at rest, against the floor of its EC2
steps) runs by default inside the first fleet of --fleets, after its at-rest phase (--no-join skips it);
--scenarios join adds a run of --scenario-nodes nodes that converges, skips the at-rest phase and measures the join.
--fleets '' runs the scenarios only. --temporal (default MULTI_ENI_TEMPORAL, else dev): the engine of the stack the
bench starts, the dev server or the multi-service cluster on PostgreSQL (its tools: MULTI_ENI_TEMPORAL=cluster
bash dev/stack/install.sh); a running stack on the other engine is refused, not reused.`);
  process.exit(0);
}

const num = (s: string, what: string) => {
  const n = Number(s);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${what}: not a positive number: ${s}`);
  return n;
};
const temporal = temporalMode(a.temporal === undefined ? process.env : { MULTI_ENI_TEMPORAL: a.temporal });
const fleets = a.fleets.split(',').filter(Boolean).map((s) => num(s, 'fleets'));
const scenarios = a.scenarios.split(',').filter(Boolean);
for (const s of scenarios) if (!['latency', 'ratelimit', 'join'].includes(s)) throw new Error(`--scenarios: unknown ${s} (latency, ratelimit, join)`);
if (!['auto', 'real', 'fleet'].includes(a.agent)) throw new Error('--agent: auto, real or fleet');
const baseEnv = Object.fromEntries(a.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const agentFor = (nodes: number): AgentKind => (a.agent === 'auto' ? (nodes <= 10 ? 'real' : 'fleet') : (a.agent as AgentKind));
const timeoutFor = (nodes: number) => (a.timeout ? num(a.timeout, 'timeout') : 300 + nodes * 6);

// The node side's workers run in this process: their lifecycle chatter would bury the results.
Runtime.install({ logger: new DefaultLogger('ERROR') });

const say = (l: string) => console.log(`${new Date().toISOString().slice(11, 19)} ${l}`);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupt.requested) process.exit(130);
    interrupt.requested = true;
    say(`${sig}: stopping after cleanup (again to quit at once)`);
  });
}

function writeReadme(report: BenchReport, commands: string[]): void {
  const body = renderMarkdown({ ...report, command: commands.join('` and `') });
  fs.writeFileSync(path.join(REPO_ROOT, 'dev', 'bench', 'README-section.md'), `## Performance\n\n${body}\n`);
  say('wrote dev/bench/README-section.md');
}

/** Renders the results of earlier invocations as one report (runs in file order). */
function render(files: string[]): void {
  const reports = files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as BenchReport);
  const excluded = new Set(a.exclude.split(',').filter(Boolean));
  const runs = reports.flatMap((r) => r.runs).filter((r) => !excluded.has(r.runId));
  const merged: BenchReport = { ...reports[0]!, runs, failures: reports.flatMap((r) => r.failures) };
  console.log(renderText(merged));
  if (a.readme) writeReadme(merged, reports.map((r) => r.command));
}

async function main(): Promise<void> {
  if (a.render) return render(a.render.split(','));
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const resultsDir = path.join(REPO_ROOT, 'dev', 'bench', 'results');
  const logDir = path.join(os.tmpdir(), `multi-eni-bench-${stamp}`);
  fs.mkdirSync(resultsDir, { recursive: true });
  fs.mkdirSync(logDir, { recursive: true });

  let stack: StackState | undefined = readState();
  let startedStack = false;
  if (stack && stack.temporal.mode !== temporal && (await stackHealthy(stack))) {
    throw new Error(`--temporal ${temporal}: the running stack in ${stack.dir} has Temporal ${stack.temporal.mode}; stop it (npm run stack:down) or run beside it with MULTI_ENI_STACK_DIR and MULTI_ENI_PORT_BASE`);
  }
  if (!stack || !(await stackHealthy(stack))) {
    say(`no healthy local stack: starting one (Temporal ${temporal})`);
    stack = await startStack({ temporal, progress: (l) => say(`stack: ${l}`) });
    startedStack = true;
  } else say(`reusing the local stack started ${stack.startedAt}`);

  const report: BenchReport = {
    startedAt: startedAt.toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: {
      nproc: os.cpus().length,
      memGiB: os.totalmem() / 2 ** 30,
      cpuModel: os.cpus()[0]?.model ?? '?',
      node: process.version,
      loadAvgAtStart: os.loadavg(),
    },
    stack: '',
    runs: [],
    failures: [],
  };
  say(`machine: ${report.machine.nproc} CPUs, ${report.machine.memGiB.toFixed(0)} GiB, node ${process.version}; logs in ${logDir}`);

  const ec2 = await PrivateEc2.start(logDir);
  const [semantics, buckets] = await Promise.all([ec2.semantics(), ec2.buckets()]);
  report.ec2 = { semantics, buckets: buckets && { enabled: buckets.enabled, overrides: buckets.overrides } };
  const ec2Line = describeEc2(semantics, buckets);
  const engine = stack.temporal.mode === 'cluster' ? 'Temporal cluster (frontend, history, matching, worker on PostgreSQL)' : 'Temporal dev server';
  report.stack = `${engine} and kube-apiserver+etcd of the local stack in ${stack.dir} (${startedStack ? 'started by the bench' : `reused, up since ${stack.startedAt}`}); EC2: a private moto_server behind the EC2 proxy, both started by the bench, strict by default: ${ec2Line}`;
  say(`EC2 emulator: ${ec2Line}`);
  const plan: Omit<RunOptions, 'stack' | 'ec2' | 'logDir' | 'say'>[] = [];
  const rest = a['no-rest'] ? undefined : { relistSeconds: num(a['relist-seconds'], 'relist-seconds'), relists: num(a['rest-relists'], 'rest-relists') };
  fleets.forEach((nodes, i) => plan.push({ label: 'fleet', nodes, agent: agentFor(nodes), controllerEnv: baseEnv, rest, join: i === 0 && !a['no-join'], timeoutS: timeoutFor(nodes) }));
  const sn = num(a['scenario-nodes'], 'scenario-nodes');
  if (scenarios.includes('join')) plan.push({ label: 'join', nodes: sn, agent: agentFor(sn), controllerEnv: baseEnv, join: true, timeoutS: timeoutFor(sn) });
  if (scenarios.includes('latency')) {
    plan.push({ label: 'latency', nodes: sn, agent: agentFor(sn), controllerEnv: baseEnv, latencyMs: num(a['latency-ms'], 'latency-ms'), timeoutS: timeoutFor(sn) });
  }
  if (scenarios.includes('ratelimit')) {
    plan.push({ label: `controller rate ${a.rate}/s`, nodes: sn, agent: agentFor(sn), controllerEnv: { ...baseEnv, EC2_RATE_LIMIT: a.rate }, timeoutS: timeoutFor(sn) * 3 });
  }

  const write = () => {
    fs.writeFileSync(path.join(resultsDir, `${stamp}.json`), JSON.stringify(report, null, 2));
    fs.writeFileSync(path.join(resultsDir, `${stamp}.md`), renderMarkdown(report));
  };
  try {
    for (const p of plan) {
      if (interrupt.requested) break;
      say(`=== ${p.label}: ${p.nodes} nodes, node side ${p.agent}`);
      try {
        const r: RunResult = await runFleet({ ...p, stack, ec2, logDir, say });
        report.runs.push(r);
      } catch (err) {
        say(`run failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        report.failures.push({ label: p.label, nodes: p.nodes, error: err instanceof Error ? err.message : String(err) });
      }
      write();
    }
  } finally {
    await ec2.stop();
    if (startedStack) {
      say('stopping the stack this bench started');
      await stopStack();
    }
  }
  console.log(`\n${renderText(report)}\n`);
  write();
  say(`results: dev/bench/results/${stamp}.json and .md`);
  if (a.readme) writeReadme(report, [report.command]);
  if (report.failures.length || report.runs.some((r) => r.errors.length || r.enisLeft > 0)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
