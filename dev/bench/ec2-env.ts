// A private EC2 for the benchmark: its own moto_server and EC2 fault proxy on free ports, seeded like the
// shared stack plus wide subnets (a fleet of 500 nodes does not fit the seed's /24s). Latency and throttling
// set here never reach the tests that share the local stack.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CreateSubnetCommand, type EC2Client } from '@aws-sdk/client-ec2';
import type { BucketSpec } from '../stack/ec2-buckets.js';
import { emulatorClient, seedEc2, type Seed } from '../stack/seed.js';
import { REPO_ROOT, motoServerCommand } from '../stack/paths.js';
import { proxyControlCall } from '../stack/ec2-proxy-control.js';
import { httpOk, sleep, tail } from '../stack/processes.js';
import { throttledByAction, throttledTotal, type BucketCounts, type CallRecord } from './ec2-bound.js';

/**
 * The one availability zone of the bench: its instances and every subnet (the strict proxy refuses to attach an
 * ENI of another AZ, InvalidParameterCombination).
 */
export const BENCH_AZ = 'us-east-1a';
/** The instances' type, and the ENIs it takes (device indexes 0..7; the strict proxy refuses more). */
export const BENCH_INSTANCE_TYPE = 'm5.4xlarge';
export const BENCH_MAX_ENIS = 8;

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * `count` consecutive free ports, below Linux's ephemeral range (32768+): a port picked there can be taken by
 * an outgoing connection (hundreds of them with a fleet of workers) before the child process binds it.
 */
export async function freePorts(count = 1): Promise<number> {
  for (;;) {
    const p = 20000 + Math.floor(Math.random() * 12000);
    let ok = true;
    for (let i = 0; i < count && ok; i++) ok = await portFree(p + i);
    if (ok) return p;
  }
}

export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  log: string;
}

/** Starts a child of this process (it dies with the bench), logging to a file. */
export function startChild(name: string, cmd: string, args: string[], log: string, env: NodeJS.ProcessEnv = process.env): Child {
  const fd = fs.openSync(log, 'a');
  const proc = spawn(cmd, args, { stdio: ['ignore', fd, fd], env });
  fs.closeSync(fd);
  if (proc.pid === undefined) throw new Error(`${name}: could not start ${cmd}`);
  return { name, proc, pid: proc.pid, log };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. */
export async function stopChild(c: Child | undefined, graceMs = 15000): Promise<void> {
  if (!c || c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  const exited = new Promise((r) => c.proc.once('exit', r));
  c.proc.kill('SIGTERM');
  const t = setTimeout(() => c.proc.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

async function waitFor(c: Child, what: string, ok: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (c.proc.exitCode !== null) throw new Error(`${c.name} exited; log ${c.log}:\n${tail(c.log)}`);
    if (await ok().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready in ${timeoutMs / 1000}s; log ${c.log}:\n${tail(c.log)}`);
    await sleep(200);
  }
}

/** Subnets of the benchmark, all in the instances' AZ, BENCH_AZ (EC2 attaches only ENIs of the instance's AZ). */
export interface BenchSubnets {
  nodes: string;
  eniA1: string;
  eniA2: string;
  eniB: string;
}

export class PrivateEc2 {
  private constructor(
    readonly moto: Child,
    readonly proxy: Child,
    readonly motoEndpoint: string,
    /** What the controller talks to (counted, faults injected). */
    readonly endpoint: string,
    readonly seed: Seed,
    readonly subnets: BenchSubnets,
    readonly securityGroupId: string,
  ) {}

  static async start(logDir: string): Promise<PrivateEc2> {
    const [motoPort, proxyPort] = [await freePorts(), await freePorts()];
    const motoEndpoint = `http://127.0.0.1:${motoPort}`;
    const endpoint = `http://127.0.0.1:${proxyPort}`;
    const motoCmd = motoServerCommand(motoPort);
    const moto = startChild('moto', motoCmd.cmd, motoCmd.args, path.join(logDir, 'moto.log'));
    const proxy = startChild(
      'ec2-proxy',
      process.execPath,
      [path.join(REPO_ROOT, 'dist', 'dev', 'stack', 'ec2-proxy-main.js'), '--port', String(proxyPort), '--target', motoEndpoint],
      path.join(logDir, 'ec2-proxy.log'),
    );
    try {
      await waitFor(moto, 'moto', () => httpOk(`${motoEndpoint}/moto-api/`), 60000);
      await waitFor(proxy, 'ec2 proxy', () => httpOk(`${endpoint}/_proxy/health`), 20000);
      const seed = await seedEc2(motoEndpoint, 0);
      const ec2 = emulatorClient(motoEndpoint);
      const subnet = async (cidr: string, name: string) =>
        (
          await ec2.send(
            new CreateSubnetCommand({ VpcId: seed.vpcId, CidrBlock: cidr, AvailabilityZone: BENCH_AZ, TagSpecifications: [{ ResourceType: 'subnet', Tags: [{ Key: 'Name', Value: name }] }] }),
          )
        ).Subnet!.SubnetId!;
      const subnets: BenchSubnets = {
        nodes: await subnet('10.10.64.0/18', 'bench-nodes'),
        eniA1: await subnet('10.10.128.0/20', 'bench-eni-a1'),
        eniA2: await subnet('10.10.144.0/20', 'bench-eni-a2'),
        eniB: await subnet('10.10.160.0/20', 'bench-eni-b'),
      };
      ec2.destroy();
      return new PrivateEc2(moto, proxy, motoEndpoint, endpoint, seed, subnets, seed.securityGroups[0]!.id);
    } catch (err) {
      await Promise.all([stopChild(proxy, 2000), stopChild(moto, 2000)]);
      throw err;
    }
  }

  /** EC2 client straight to moto: the hardware's and the bench's view, never counted as the controller's calls. */
  motoClient(): EC2Client {
    return emulatorClient(this.motoEndpoint, this.seed.region);
  }

  control(method: 'GET' | 'POST' | 'PUT', route: string, body?: unknown): Promise<unknown> {
    return proxyControlCall(`${this.endpoint}/_proxy`, method, route, body);
  }

  resetCalls(): Promise<unknown> {
    return this.control('POST', '/calls/reset');
  }

  /** Calls by action (and by token bucket) as the proxy counted them (every call the controller made, whatever its outcome). */
  async calls(): Promise<ProxyCalls> {
    return summarizeCalls((await this.control('GET', '/calls')) as RawCalls);
  }

  /** The counts and the proxy's last 200 call records (oldest first). */
  async callsWithRecent(): Promise<{ calls: ProxyCalls; recent: CallRecord[] }> {
    const raw = (await this.control('GET', '/calls')) as RawCalls;
    return { calls: summarizeCalls(raw), recent: raw.recent ?? [] };
  }

  /** The emulator's EC2 semantics (windows, rules), or undefined if this proxy does not answer. */
  semantics(): Promise<Record<string, unknown> | undefined> {
    return this.control('GET', '/semantics').then((v) => v as Record<string, unknown>, () => undefined);
  }

  /** The token buckets' settings and levels, or undefined from a proxy without buckets. */
  buckets(): Promise<BucketsView | undefined> {
    return this.control('GET', '/buckets').then((v) => v as BucketsView, () => undefined);
  }

  /**
   * Waits until every bucket the proxy has is full again (the bucket bound assumes a phase starts with full
   * buckets, as an account's do after a quiet while). Returns the seconds waited.
   */
  async waitBucketsFull(timeoutMs = 60000): Promise<number> {
    const t0 = Date.now();
    for (;;) {
      const b = await this.buckets();
      if (!b?.enabled || !b.buckets) return 0;
      const low = Object.values(b.buckets).filter((x) => x.tokens < x.capacity - 0.5);
      if (low.length === 0 || Date.now() - t0 > timeoutMs) return (Date.now() - t0) / 1000;
      const waitMs = Math.max(...low.map((x) => ((x.capacity - x.tokens) / x.refillPerSecond) * 1000));
      await sleep(Math.min(Math.max(waitMs, 200), 5000));
    }
  }

  faults(f: { latencyMs?: number; throttleRate?: number; serverErrorRate?: number }): Promise<unknown> {
    return this.control('PUT', '/faults', f);
  }

  async stop(): Promise<void> {
    await this.faults({ latencyMs: 0, throttleRate: 0, serverErrorRate: 0 }).catch(() => undefined);
    await stopChild(this.proxy, 5000);
    await stopChild(this.moto, 5000);
  }
}

export interface ProxyCalls {
  total: number;
  byAction: Record<string, number>;
  /** Calls answered with something other than success, by `action:outcome`. */
  notOk: Record<string, number>;
  /** By token bucket key: calls, ok, throttled (absent in results from before the strict proxy). */
  byBucket?: Record<string, BucketCounts>;
  /** Calls refused with RequestLimitExceeded: the sum over the buckets (absent in older results). */
  throttled?: number;
  /** The same by action. */
  throttledByAction?: Record<string, number>;
}

export interface BucketsView {
  enabled: boolean;
  overrides: Record<string, BucketSpec>;
  nowMs?: number;
  buckets?: Record<string, BucketSpec & { tokens: number }>;
}

interface RawCalls {
  total: number;
  byAction: Record<string, { total: number; outcomes: Record<string, number> }>;
  byBucket?: Record<string, BucketCounts>;
  recent?: CallRecord[];
}

function summarizeCalls(c: RawCalls): ProxyCalls {
  const byAction = throttledByAction(c.byAction);
  return {
    total: c.total,
    byAction: Object.fromEntries(Object.entries(c.byAction).map(([a, v]) => [a, v.total])),
    notOk: notOk(c.byAction),
    ...(c.byBucket ? { byBucket: c.byBucket } : {}),
    // A proxy without buckets still reports its coin-toss throttling as an outcome.
    throttled: c.byBucket ? throttledTotal(c.byBucket) : Object.values(byAction).reduce((a, b) => a + b, 0),
    throttledByAction: byAction,
  };
}

function notOk(byAction: Record<string, { outcomes: Record<string, number> }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [a, v] of Object.entries(byAction)) for (const [o, n] of Object.entries(v.outcomes)) if (o !== 'ok') out[`${a}:${o}`] = n;
  return out;
}
