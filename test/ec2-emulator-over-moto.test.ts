// The EC2 fault proxy against real moto, through the real SDK. Self-contained: it starts its own moto_server on a
// free port and the proxy in-process, so it neither needs nor disturbs the shared stack's EC2 state.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  AssignPrivateIpAddressesCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  CreateSubnetCommand,
  type CreateNetworkInterfaceCommandInput,
  DeleteNetworkInterfaceCommand,
  DescribeNetworkInterfacesCommand,
  DetachNetworkInterfaceCommand,
  DescribeSubnetsCommand,
  EC2Client,
  ModifyNetworkInterfaceAttributeCommand,
  UnassignPrivateIpAddressesCommand,
  type NetworkInterface,
} from '@aws-sdk/client-ec2';
import { startEc2Proxy, DEFAULT_BUCKETS, DEFAULT_FAULTS, DEFAULT_SEMANTICS, type CallsReport, type Ec2Proxy } from '../dev/stack/ec2-proxy.js';
import { TOOLS_BIN, motoServerCommand } from '../dev/stack/paths.js';
import { httpOk, startDetached, stopPid, waitReady, type Started } from '../dev/stack/processes.js';
import { emulatorClient, runInstances, seedEc2, type Seed } from '../dev/stack/seed.js';

let moto: Started;
let proxy: Ec2Proxy;
let seed: Seed;
let ec2: EC2Client; // through the proxy
let direct: EC2Client; // straight to moto: the ground truth
let logDir: string;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function control<T = unknown>(method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${proxy.url}/_proxy${route}`, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  if (!res.ok) throw new Error(`${method} ${route}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
const calls = () => control<CallsReport>('GET', '/calls');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const subnetA = () => seed.subnets.find((s) => s.az === 'us-east-1a')!.id;
const subnetB = () => seed.subnets.find((s) => s.az === 'us-east-1b')!.id;
async function newInstance(type: 'm5.4xlarge' | 'm5.large' = 'm5.4xlarge'): Promise<string> {
  return (await runInstances(direct, seed, 1, 'us-east-1a', type))[0]!.id;
}
async function createEni(client = ec2, extra: { ClientToken?: string; Description?: string; SubnetId?: string; Groups?: string[] } = {}): Promise<string> {
  const r = await client.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetA(), Groups: [seed.securityGroups[0]!.id], ...extra }));
  return r.NetworkInterface!.NetworkInterfaceId!;
}
async function describeEni(id: string, client = ec2): Promise<NetworkInterface> {
  const r = await client.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] }));
  return r.NetworkInterfaces![0]!;
}
async function enisInSubnet(): Promise<string[]> {
  const r = await direct.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'subnet-id', Values: [subnetA()] }] }));
  return (r.NetworkInterfaces ?? []).map((n) => n.NetworkInterfaceId!);
}
/** The error a call fails with (the test fails if it succeeds). */
async function failure(p: Promise<unknown>): Promise<Error & { Code?: string; $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ec2-proxy-test-'));
  const motoPort = await freePort();
  const motoBin = path.join(TOOLS_BIN, 'moto_server');
  if (!fs.existsSync(motoBin)) throw new Error(`moto_server is not installed in ${TOOLS_BIN}: run \`npm run tools\``);
  const motoCmd = motoServerCommand(motoPort);
  moto = startDetached('moto', motoCmd.cmd, motoCmd.args, path.join(logDir, 'moto.log'));
  const motoUrl = `http://127.0.0.1:${motoPort}`;
  await waitReady(moto, () => httpOk(`${motoUrl}/moto-api/`), 60_000);
  seed = await seedEc2(motoUrl, 2);
  proxy = await startEc2Proxy({ port: 0, target: motoUrl });
  // No SDK retries: every call the test makes is exactly one call the proxy sees.
  ec2 = new EC2Client({ endpoint: proxy.url, region: seed.region, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 1 });
  direct = emulatorClient(motoUrl);
}, 120_000);

afterAll(async () => {
  ec2?.destroy();
  direct?.destroy();
  await proxy?.close();
  if (moto) await stopPid(moto.pid);
  if (logDir) fs.rmSync(logDir, { recursive: true, force: true });
});

beforeEach(async () => {
  await control('POST', '/reset');
});

describe('control API', () => {
  it('answers health, and reset restores the defaults', async () => {
    expect((await fetch(`${proxy.url}/_proxy/health`)).status).toBe(200);
    await control('PUT', '/faults', { throttleRate: 0.5, latencyMs: 5, actions: ['CreateNetworkInterface'] });
    await control('PUT', '/semantics', { attachingMs: 10, clientToken: false });
    await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [] }));
    await control('PUT', '/buckets', { overrides: { DescribeSubnets: { capacity: 1, refillPerSecond: 1 } } });
    await control('POST', '/reset');
    expect(await control('GET', '/faults')).toEqual(DEFAULT_FAULTS);
    expect(await control('GET', '/buckets')).toMatchObject({ ...DEFAULT_BUCKETS, buckets: {} });
    expect(await control('GET', '/semantics')).toEqual(DEFAULT_SEMANTICS);
    expect(await calls()).toEqual({ total: 0, forwarded: 0, byAction: {}, byBucket: {}, recent: [] });
  });

  it('refuses a config it does not understand', async () => {
    const res = await fetch(`${proxy.url}/_proxy/semantics`, { method: 'PUT', body: JSON.stringify({ attachingMS: 5 }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: expect.stringMatching(/attachingMS/) });
  });
});

describe('faults', () => {
  it('throttles with RequestLimitExceeded (HTTP 503) without reaching moto', async () => {
    await control('PUT', '/faults', { throttleRate: 1 });
    const err = await failure(ec2.send(new DescribeNetworkInterfacesCommand({})));
    expect(err.name).toBe('RequestLimitExceeded');
    expect(err.Code).toBe('RequestLimitExceeded');
    expect(err.$metadata?.httpStatusCode).toBe(503);
    const c = await calls();
    expect(c.byAction).toEqual({ DescribeNetworkInterfaces: { total: 1, forwarded: 0, outcomes: { throttled: 1 } } });
  });

  it('answers InternalError (HTTP 500), and limits faults to the listed actions', async () => {
    await control('PUT', '/faults', { serverErrorRate: 1, actions: ['CreateNetworkInterface'] });
    const before = await enisInSubnet();
    const err = await failure(createEni());
    expect(err.name).toBe('InternalError');
    expect(err.$metadata?.httpStatusCode).toBe(500);
    expect(await enisInSubnet()).toEqual(before);
    await ec2.send(new DescribeNetworkInterfacesCommand({})); // not listed: no fault
    expect((await calls()).byAction).toEqual({
      CreateNetworkInterface: { total: 1, forwarded: 0, outcomes: { '5xx': 1 } },
      DescribeNetworkInterfaces: { total: 1, forwarded: 1, outcomes: { ok: 1 } },
    });
  });

  it('are reproducible for a seed', async () => {
    const run = async () => {
      await control('PUT', '/faults', { throttleRate: 0.5, seed: 42 });
      const out: string[] = [];
      for (let i = 0; i < 16; i++) {
        out.push(
          await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [] })).then(
            () => 'ok',
            (e: Error) => e.name,
          ),
        );
      }
      return out;
    };
    const first = await run();
    expect(await run()).toEqual(first);
    expect(new Set(first)).toEqual(new Set(['ok', 'RequestLimitExceeded']));
  });

  it('delays answers by latencyMs', async () => {
    await control('PUT', '/faults', { latencyMs: 300 });
    const t0 = Date.now();
    await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [] }));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
  });
});

describe('EC2 semantics moto lacks', () => {
  it('ClientToken: a repeated create returns the same ENI, also while the first is in flight', async () => {
    const before = await enisInSubnet();
    const ClientToken = `token-${Date.now()}`;
    const [a, b] = await Promise.all([createEni(ec2, { ClientToken }), createEni(ec2, { ClientToken })]);
    const c = await createEni(ec2, { ClientToken });
    expect(b).toBe(a);
    expect(c).toBe(a);
    const after = await enisInSubnet();
    expect(after.filter((id) => !before.includes(id))).toEqual([a]);

    const mismatch = await failure(createEni(ec2, { ClientToken, Description: 'other' }));
    expect(mismatch.name).toBe('IdempotentParameterMismatch');
    const c2 = await calls();
    expect(c2.byAction).toEqual({ CreateNetworkInterface: { total: 4, forwarded: 1, outcomes: { ok: 3, IdempotentParameterMismatch: 1 } } });
    expect(c2.recent.filter((r) => r.replayed).map((r) => r.params.ClientToken)).toEqual([ClientToken, ClientToken]);
  });

  it('ClientToken off: moto makes a second ENI, as it does on its own', async () => {
    await control('PUT', '/semantics', { clientToken: false });
    const ClientToken = `token-off-${Date.now()}`;
    expect(await createEni(ec2, { ClientToken })).not.toBe(await createEni(ec2, { ClientToken }));
  });

  it('attach: describe shows attaching, then attached; an occupied device index and an attached ENI are refused', async () => {
    await control('PUT', '/semantics', { attachingMs: 500 });
    const [instance, other] = [await newInstance(), await newInstance()];
    const eni = await createEni();
    const attached = await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eni, InstanceId: instance, DeviceIndex: 2 }));
    const t0 = Date.now();
    expect(attached.AttachmentId).toMatch(/^eni-attach-/);
    const now = await describeEni(eni);
    expect(now.Attachment).toMatchObject({ Status: 'attaching', DeviceIndex: 2, InstanceId: instance });
    expect(now.Status).toBe('in-use');
    expect((await describeEni(eni, direct)).Attachment?.Status).toBe('attached'); // moto itself is instant
    // Other ENIs in the same answer keep their status.
    const all = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instance] }] }));
    expect(all.NetworkInterfaces!.map((n) => [n.NetworkInterfaceId === eni, n.Attachment?.Status]).sort()).toEqual([
      [false, 'attached'],
      [true, 'attaching'],
    ]);

    const second = await createEni();
    const conflict = await failure(ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: second, InstanceId: instance, DeviceIndex: 2 })));
    expect(conflict.name).toBe('InvalidParameterValue');
    expect(conflict.message).toBe(`Instance '${instance}' already has an interface attached at device index '2'.`);
    expect(conflict.$metadata?.httpStatusCode).toBe(400);
    expect((await describeEni(second, direct)).Status).toBe('available'); // moto was not asked
    expect((await describeEni(eni, direct)).Attachment?.DeviceIndex).toBe(2);

    const inUse = await failure(ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eni, InstanceId: other, DeviceIndex: 1 })));
    expect(inUse.name).toBe('InvalidNetworkInterface.InUse');
    expect(inUse.message).toBe(`Interface: [${eni}] in use.`);
    expect((await describeEni(eni, direct)).Attachment?.InstanceId).toBe(instance);

    await sleep(Math.max(0, 600 - (Date.now() - t0)));
    expect((await describeEni(eni)).Attachment?.Status).toBe('attached');
    expect((await calls()).byAction.AttachNetworkInterface).toEqual({
      total: 3,
      forwarded: 1,
      outcomes: { ok: 1, InvalidParameterValue: 1, 'InvalidNetworkInterface.InUse': 1 },
    });
  });

  it('concurrent attaches at one device index: exactly one wins', async () => {
    await control('PUT', '/semantics', { attachingMs: 0 });
    const instance = await newInstance();
    const [a, b] = [await createEni(), await createEni()];
    const results = await Promise.allSettled([a, b].map((NetworkInterfaceId) => ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId, InstanceId: instance, DeviceIndex: 4 }))));
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(results.find((r) => r.status === 'rejected')).toMatchObject({ reason: { name: 'InvalidParameterValue' } });
    const onInstance = await direct.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instance] }] }));
    expect(onInstance.NetworkInterfaces!.filter((n) => n.Attachment?.DeviceIndex === 4)).toHaveLength(1);
  });

  it('reset forwards a pending detach at once', async () => {
    await control('PUT', '/semantics', { attachingMs: 0, detachingMs: 60_000 });
    const instance = await newInstance();
    const eni = await createEni();
    const { AttachmentId } = await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eni, InstanceId: instance, DeviceIndex: 1 }));
    await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId }));
    expect((await describeEni(eni, direct)).Attachment?.Status).toBe('attached');
    await control('POST', '/reset');
    expect((await describeEni(eni, direct)).Status).toBe('available');
  });

  it('delete of an in-use ENI is refused with InvalidNetworkInterface.InUse', async () => {
    await control('PUT', '/semantics', { attachingMs: 0 });
    const instance = await newInstance();
    const eni = await createEni();
    await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eni, InstanceId: instance, DeviceIndex: 1 }));
    const err = await failure(ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eni })));
    expect(err.name).toBe('InvalidNetworkInterface.InUse');
    expect(err.message).toBe(`The network interface '${eni}' is currently in use.`);
    expect((await describeEni(eni, direct)).Status).toBe('in-use');
  });

  it('detach: answered at once, detaching meanwhile (delete refused), detached after detachingMs', async () => {
    await control('PUT', '/semantics', { attachingMs: 0, detachingMs: 500 });
    const instance = await newInstance();
    const eni = await createEni();
    const { AttachmentId } = await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eni, InstanceId: instance, DeviceIndex: 1 }));
    const t0 = Date.now();
    await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId }));
    expect(Date.now() - t0).toBeLessThan(400);
    const during = await describeEni(eni);
    expect(during.Attachment?.Status).toBe('detaching');
    expect(during.Status).toBe('in-use');
    expect((await describeEni(eni, direct)).Attachment?.Status).toBe('attached');
    const del = await failure(ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eni })));
    expect(del.name).toBe('InvalidNetworkInterface.InUse');

    await sleep(Math.max(0, 800 - (Date.now() - t0)));
    const after = await describeEni(eni);
    expect(after.Attachment).toBeUndefined();
    expect(after.Status).toBe('available');
    await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eni }));
    expect(await enisInSubnet()).not.toContain(eni);
    expect((await calls()).byAction).toEqual({
      CreateNetworkInterface: { total: 1, forwarded: 1, outcomes: { ok: 1 } },
      AttachNetworkInterface: { total: 1, forwarded: 1, outcomes: { ok: 1 } },
      DetachNetworkInterface: { total: 1, forwarded: 0, outcomes: { ok: 1 } }, // moto got it later, from the proxy
      DescribeNetworkInterfaces: { total: 2, forwarded: 2, outcomes: { ok: 2 } },
      DeleteNetworkInterface: { total: 2, forwarded: 1, outcomes: { 'InvalidNetworkInterface.InUse': 1, ok: 1 } },
    });
  });
});

describe('calls', () => {
  it('counts exactly the calls made, with their key params, and resets', async () => {
    const instance = await newInstance();
    const ClientToken = `count-${Date.now()}`;
    const eni = await createEni(ec2, { ClientToken });
    await createEni(ec2, { ClientToken });
    await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eni, InstanceId: instance, DeviceIndex: 3 }));
    await control('PUT', '/faults', { throttleRate: 1, actions: ['DescribeNetworkInterfaces'] });
    await failure(describeEni(eni));
    const c = await calls();
    expect(c.total).toBe(4);
    expect(c.forwarded).toBe(2);
    expect(c.byAction).toEqual({
      CreateNetworkInterface: { total: 2, forwarded: 1, outcomes: { ok: 2 } },
      AttachNetworkInterface: { total: 1, forwarded: 1, outcomes: { ok: 1 } },
      DescribeNetworkInterfaces: { total: 1, forwarded: 0, outcomes: { throttled: 1 } },
    });
    expect(c.recent.map(({ action, params, status, outcome, forwarded }) => ({ action, params, status, outcome, forwarded }))).toEqual([
      { action: 'CreateNetworkInterface', params: { ClientToken, SubnetId: subnetA() }, status: 200, outcome: 'ok', forwarded: true },
      { action: 'CreateNetworkInterface', params: { ClientToken, SubnetId: subnetA() }, status: 200, outcome: 'ok', forwarded: false },
      { action: 'AttachNetworkInterface', params: { NetworkInterfaceId: eni, InstanceId: instance, DeviceIndex: '3' }, status: 200, outcome: 'ok', forwarded: true },
      { action: 'DescribeNetworkInterfaces', params: { NetworkInterfaceId: eni }, status: 503, outcome: 'throttled', forwarded: false },
    ]);
    expect(c.recent.every((r) => !Number.isNaN(Date.parse(r.at)))).toBe(true);
    await control('POST', '/calls/reset');
    expect((await calls()).total).toBe(0);
  });
});

type BucketsView = { enabled: boolean; nowMs: number; buckets: Record<string, { capacity: number; refillPerSecond: number; tokens: number }> };
const describeSubnets = () =>
  ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetA()] })).then(
    () => 'ok',
    (e: Error & { $metadata?: { httpStatusCode?: number } }) => `${e.name}/${e.$metadata?.httpStatusCode}`,
  );

describe('token buckets (on by default)', () => {
  it('each action takes from its own bucket with the documented size and refill rate', async () => {
    const instance = await newInstance();
    const eni = await createEni();
    const before = await control<BucketsView>('GET', '/buckets');
    await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eni, InstanceId: instance, DeviceIndex: 1 }));
    await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instance] }] }));
    await describeEni(eni); // by ID only: neither a filter nor pagination, so the smaller bucket
    const v = await control<BucketsView>('GET', '/buckets');
    expect(v.enabled).toBe(true);
    const spec = (k: string) => ({ capacity: v.buckets[k]?.capacity, refillPerSecond: v.buckets[k]?.refillPerSecond });
    expect(spec('CreateNetworkInterface')).toEqual({ capacity: 100, refillPerSecond: 5 });
    expect(spec('AttachNetworkInterface')).toEqual({ capacity: 50, refillPerSecond: 5 });
    expect(spec('DescribeNetworkInterfaces')).toEqual({ capacity: 100, refillPerSecond: 20 });
    expect(spec('DescribeNetworkInterfaces (unfiltered)')).toEqual({ capacity: 50, refillPerSecond: 10 });
    // One token taken, and no more refilled than the proxy's clock allows since the look before the attach (the
    // bucket stays under 50 unless this machine took over 200 ms between the two looks).
    const refilled = ((v.nowMs - before.nowMs) / 1000) * 5;
    expect(v.buckets.AttachNetworkInterface!.tokens).toBeGreaterThanOrEqual(49);
    expect(v.buckets.AttachNetworkInterface!.tokens).toBeLessThanOrEqual(Math.min(50, 49 + refilled + 1e-6));
    expect((await calls()).byBucket).toEqual({
      CreateNetworkInterface: { total: 1, ok: 1, throttled: 0 },
      AttachNetworkInterface: { total: 1, ok: 1, throttled: 0 },
      DescribeNetworkInterfaces: { total: 1, ok: 1, throttled: 0 },
      'DescribeNetworkInterfaces (unfiltered)': { total: 1, ok: 1, throttled: 0 },
    });
  });

  it('a drained bucket answers RequestLimitExceeded (HTTP 503) until the proxy clock refills it; other actions go on', async () => {
    await control('PUT', '/buckets', { overrides: { DescribeSubnets: { capacity: 3, refillPerSecond: 2 } } });
    const burst = [];
    for (let i = 0; i < 4; i++) burst.push(await describeSubnets());
    expect(burst).toEqual(['ok', 'ok', 'ok', 'RequestLimitExceeded/503']);
    expect(await createEni()).toMatch(/^eni-/); // its own bucket is full
    // Refill is read on the proxy's clock: advancing it by 0.5 s at 2 tokens/s gives exactly one token.
    const drained = await control<BucketsView>('GET', '/buckets');
    expect(drained.buckets.DescribeSubnets!.tokens).toBeLessThan(1);
    const after = await control<BucketsView>('POST', '/clock/advance', { ms: 500 });
    const gained = after.buckets.DescribeSubnets!.tokens - drained.buckets.DescribeSubnets!.tokens;
    expect(gained).toBeGreaterThanOrEqual(1); // 0.5 s x 2/s, plus the wall time between the two reads
    expect(gained).toBeLessThan(1 + ((after.nowMs - drained.nowMs - 500) / 1000) * 2 + 0.01);
    expect([await describeSubnets(), await describeSubnets()]).toEqual(['ok', 'RequestLimitExceeded/503']);
    // A long pause refills up to the capacity, never past it.
    await control('POST', '/clock/advance', { ms: 60_000 });
    expect((await control<BucketsView>('GET', '/buckets')).buckets.DescribeSubnets!.tokens).toBe(3);
    const c = await calls();
    expect(c.byBucket.DescribeSubnets).toEqual({ total: 6, ok: 4, throttled: 2 });
    expect(c.byAction.DescribeSubnets).toEqual({ total: 6, forwarded: 4, outcomes: { ok: 4, throttled: 2 } });
  });

  it('turned off by name, nothing is throttled', async () => {
    await control('PUT', '/buckets', { enabled: false, overrides: { DescribeSubnets: { capacity: 1, refillPerSecond: 0.001 } } });
    const out = [];
    for (let i = 0; i < 5; i++) out.push(await describeSubnets());
    expect(out).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
  });
});

describe('EC2 rules moto does not enforce', () => {
  it('availability zone: an ENI attaches only to an instance of its own AZ', async () => {
    const instance = await newInstance(); // us-east-1a
    const eniB = await createEni(ec2, { SubnetId: subnetB() });
    const err = await failure(ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eniB, InstanceId: instance, DeviceIndex: 1 })));
    expect(err.name).toBe('InvalidParameterCombination');
    expect(err.message).toBe('You may not attach a network interface to an instance if they are not in the same availability zone');
    expect(err.$metadata?.httpStatusCode).toBe(400);
    expect((await describeEni(eniB, direct)).Status).toBe('available'); // moto was not asked
    await control('PUT', '/semantics', { availabilityZone: false, attachingMs: 0 });
    await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eniB, InstanceId: instance, DeviceIndex: 1 }));
    expect((await describeEni(eniB, direct)).Attachment?.InstanceId).toBe(instance);
  });

  it("interfaces per instance: the instance type's MaximumNetworkInterfaces, primary included, and device indexes below it", async () => {
    await control('PUT', '/semantics', { attachingMs: 0 });
    const small = await newInstance('m5.large'); // 3 network interfaces (DescribeInstanceTypes)
    const overIndex = await failure(ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: await createEni(), InstanceId: small, DeviceIndex: 3 })));
    expect(overIndex.name).toBe('AttachmentLimitExceeded');
    expect(overIndex.message).toBe('Device index 3 exceeds the limit for m5.large (3 network interfaces)');
    for (const DeviceIndex of [1, 2]) await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: await createEni(), InstanceId: small, DeviceIndex }));
    const fourth = await createEni();
    const over = await failure(ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: fourth, InstanceId: small, DeviceIndex: 2 })));
    expect(over.name).toBe('AttachmentLimitExceeded');
    expect(over.message).toBe('Interface count 4 exceeds the limit for m5.large');
    expect((await describeEni(fourth, direct)).Status).toBe('available');
    const onSmall = await direct.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [small] }] }));
    expect(onSmall.NetworkInterfaces!.map((n) => n.Attachment?.DeviceIndex).sort()).toEqual([0, 1, 2]);
    // The default node type takes 8: index 7 is the last.
    const big = await newInstance();
    await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: await createEni(), InstanceId: big, DeviceIndex: 7 }));
  });

  it("VPC: an ENI's security groups must exist and be in its subnet's VPC (create and modify)", async () => {
    const before = await enisInSubnet();
    const otherDefault = seed.otherVpc.defaultSecurityGroupId;
    const cross = await failure(createEni(ec2, { Groups: [seed.securityGroups[0]!.id, otherDefault] }));
    expect(cross.name).toBe('InvalidParameter');
    expect(cross.message).toBe(`Security group ${otherDefault} and subnet ${subnetA()} belong to different networks.`);
    const unknown = await failure(createEni(ec2, { Groups: ['sg-0123456789abcdef0'] }));
    expect(unknown.name).toBe('InvalidGroup.NotFound');
    expect(unknown.message).toBe("The security group 'sg-0123456789abcdef0' does not exist");
    expect(await enisInSubnet()).toEqual(before); // neither reached moto (which would have made both)

    const eni = await createEni();
    const modify = await failure(ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni, Groups: [otherDefault] })));
    expect(modify.name).toBe('InvalidParameter');
    expect((await describeEni(eni, direct)).Groups?.map((g) => g.GroupId)).toEqual([seed.securityGroups[0]!.id]);
    // In the other VPC's own subnet its group is fine.
    await createEni(ec2, { SubnetId: seed.otherVpc.subnetId, Groups: [otherDefault] });
  });

  it('attaching and detaching windows are drawn from the configured range, the same for the same seed', async () => {
    const draws = async () => {
      await control('PUT', '/semantics', { attachingMs: [100, 900], detachingMs: [50, 60], seed: 7 });
      const instance = await newInstance();
      for (const DeviceIndex of [1, 2, 3]) await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: await createEni(), InstanceId: instance, DeviceIndex }));
      return (await calls()).recent.filter((r) => r.action === 'AttachNetworkInterface').map((r) => r.windowMs);
    };
    const first = await draws();
    await control('POST', '/reset');
    expect(await draws()).toEqual(first);
    for (const w of first) {
      expect(w).toBeGreaterThanOrEqual(100);
      expect(w).toBeLessThanOrEqual(900);
    }
    expect(new Set(first).size).toBeGreaterThan(1);
    const bad = await fetch(`${proxy.url}/_proxy/semantics`, { method: 'PUT', body: JSON.stringify({ attachingMs: [900, 100] }) });
    expect(bad.status).toBe(400);
  });
});

describe('addresses on the ENI: secondary IPv4 addresses and /28 prefixes', () => {
  // Each test gets its own subnet of the seeded VPC, so what other tests allocated cannot get in the way.
  let nextSubnet = 100;
  async function freshSubnet(length = 24): Promise<{ id: string; cidr: string }> {
    const cidr = `10.10.${nextSubnet++}.0/${length}`;
    const r = await direct.send(new CreateSubnetCommand({ VpcId: seed.vpcId, CidrBlock: cidr, AvailabilityZone: 'us-east-1a' }));
    return { id: r.Subnet!.SubnetId!, cidr };
  }
  const create = async (SubnetId: string, extra: Omit<CreateNetworkInterfaceCommandInput, 'SubnetId'> = {}) =>
    (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId, Groups: [seed.securityGroups[0]!.id], ...extra }))).NetworkInterface!;
  const ips = (n: NetworkInterface) => (n.PrivateIpAddresses ?? []).map((a) => a.PrivateIpAddress!);
  const prefixes = (n: NetworkInterface) => (n.Ipv4Prefixes ?? []).map((p) => p.Ipv4Prefix!);
  /** Every address of an ENI's prefixes and private addresses, as numbers. */
  const footprint = (n: NetworkInterface): number[] => {
    const num = (ip: string) => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
    return [...ips(n).map(num), ...prefixes(n).flatMap((p) => Array.from({ length: 16 }, (_, i) => num(p.split('/')[0]!) + i))];
  };
  const inCidr = (cidr: string) => (p: string) => p.startsWith(cidr.split('.').slice(0, 3).join('.') + '.');

  it('create with secondary addresses or with prefixes: the answer and describe list them, aligned /28s of the subnet, nothing overlapping', async () => {
    const subnet = await freshSubnet();
    const withIps = await create(subnet.id, { SecondaryPrivateIpAddressCount: 2 });
    expect(ips(withIps)).toHaveLength(3);
    expect(withIps.PrivateIpAddresses!.filter((a) => a.Primary).map((a) => a.PrivateIpAddress)).toEqual([withIps.PrivateIpAddress]);
    expect(withIps.Ipv4Prefixes).toBeUndefined();
    const withPrefixes = await create(subnet.id, { Ipv4PrefixCount: 2 });
    expect(prefixes(withPrefixes)).toHaveLength(2);
    for (const p of prefixes(withPrefixes)) {
      expect(p).toMatch(/^10\.10\.\d+\.\d+\/28$/);
      expect(inCidr(subnet.cidr)(p)).toBe(true);
      expect(Number(p.split('/')[0]!.split('.')[3]) % 16).toBe(0);
    }
    const staticPrimary = await create(subnet.id, { PrivateIpAddress: `${subnet.cidr.split('.').slice(0, 3).join('.')}.10`, Ipv4Prefixes: [{ Ipv4Prefix: `${subnet.cidr.split('.').slice(0, 3).join('.')}.32/28` }] });
    expect(staticPrimary.PrivateIpAddress).toMatch(/\.10$/);
    expect(prefixes(staticPrimary)).toEqual([`${subnet.cidr.split('.').slice(0, 3).join('.')}.32/28`]);

    // Describe, through the proxy, shows what the creates answered; moto itself knows no prefixes.
    for (const eni of [withIps, withPrefixes, staticPrimary]) {
      const seen = await describeEni(eni.NetworkInterfaceId!);
      expect(ips(seen)).toEqual(ips(eni));
      expect(prefixes(seen)).toEqual(prefixes(eni));
    }
    expect((await describeEni(withPrefixes.NetworkInterfaceId!, direct)).Ipv4Prefixes ?? []).toEqual([]);
    const all = [withIps, withPrefixes, staticPrimary].flatMap(footprint);
    expect(new Set(all).size).toBe(all.length);
  });

  it('create refuses what EC2 refuses: prefixes with secondary addresses, a taken or misaligned prefix, an address in use', async () => {
    const subnet = await freshSubnet();
    const net = subnet.cidr.split('.').slice(0, 3).join('.');
    const mixed = await failure(create(subnet.id, { Ipv4PrefixCount: 1, SecondaryPrivateIpAddressCount: 1 }));
    expect(mixed.name).toBe('InvalidParameterCombination');
    const both = await failure(create(subnet.id, { Ipv4PrefixCount: 1, Ipv4Prefixes: [{ Ipv4Prefix: `${net}.64/28` }] }));
    expect(both.name).toBe('InvalidParameterCombination');
    const first = await create(subnet.id, { Ipv4Prefixes: [{ Ipv4Prefix: `${net}.64/28` }] });
    const taken = await failure(create(subnet.id, { Ipv4Prefixes: [{ Ipv4Prefix: `${net}.64/28` }] }));
    expect(taken.name).toBe('InvalidParameterValue');
    expect(taken.message).toMatch(/overlaps/);
    const misaligned = await failure(create(subnet.id, { Ipv4Prefixes: [{ Ipv4Prefix: `${net}.72/28` }] }));
    expect(misaligned.name).toBe('InvalidParameterValue');
    const inPrefix = await failure(create(subnet.id, { PrivateIpAddress: `${net}.70` }));
    expect(inPrefix.name).toBe('InvalidIPAddress.InUse');
    const primaryTaken = await failure(create(subnet.id, { PrivateIpAddress: first.PrivateIpAddress! }));
    expect(primaryTaken.name).toBe('InvalidIPAddress.InUse');
    // None of the refused creates reached moto.
    const inSubnet = await direct.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'subnet-id', Values: [subnet.id] }] }));
    expect(inSubnet.NetworkInterfaces!.map((n) => n.NetworkInterfaceId)).toEqual([first.NetworkInterfaceId]);
  });

  it('assign and unassign: answered with what the call assigned; a prefix assigned twice or unassigned twice is refused', async () => {
    const subnet = await freshSubnet();
    const eni = (await create(subnet.id)).NetworkInterfaceId!;
    const a1 = await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eni, Ipv4PrefixCount: 1 }));
    expect(a1.NetworkInterfaceId).toBe(eni);
    expect(a1.AssignedIpv4Prefixes).toHaveLength(1);
    expect(a1.AssignedPrivateIpAddresses ?? []).toEqual([]);
    const p1 = a1.AssignedIpv4Prefixes![0]!.Ipv4Prefix!;
    const a2 = await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eni, SecondaryPrivateIpAddressCount: 2 }));
    expect(a2.AssignedPrivateIpAddresses).toHaveLength(2);
    expect(a2.AssignedIpv4Prefixes ?? []).toEqual([]);
    const seen = await describeEni(eni);
    expect(prefixes(seen)).toEqual([p1]);
    expect(ips(seen)).toEqual(expect.arrayContaining(a2.AssignedPrivateIpAddresses!.map((x) => x.PrivateIpAddress!)));
    expect(ips(seen)).toHaveLength(3);
    expect(new Set(footprint(seen)).size).toBe(footprint(seen).length);

    const again = await failure(ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eni, Ipv4Prefixes: [p1] })));
    expect(again.name).toBe('InvalidParameterValue');
    await ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eni, Ipv4Prefixes: [p1] }));
    expect((await describeEni(eni)).Ipv4Prefixes).toBeUndefined();
    const twice = await failure(ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eni, Ipv4Prefixes: [p1] })));
    expect(twice.name).toBe('InvalidParameterValue');
    expect(twice.message).toBe(`Some of the specified prefixes are not assigned to interface ${eni}: ${p1}`);
    // A freed prefix can be named again.
    const back = await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eni, Ipv4Prefixes: [p1] }));
    expect(back.AssignedIpv4Prefixes).toEqual([{ Ipv4Prefix: p1 }]);

    const unknown = 'eni-0123456789abcdef0';
    for (const call of [
      () => ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: unknown, Ipv4PrefixCount: 1 })),
      () => ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: unknown, Ipv4Prefixes: [p1] })),
    ]) {
      const err = await failure(call());
      expect(err.name).toBe('InvalidNetworkInterfaceID.NotFound');
    }
  });

  it('a subnet without a free /28 refuses with InsufficientCidrBlocks; a deleted ENI gives its prefixes back; reset forgets them', async () => {
    // A /26: four /28 blocks, of which the first (EC2's reserved .0–.3) and the last (the broadcast address, and
    // the ENIs' primary addresses, taken from the top) cannot be delegated: two are left.
    const subnet = await freshSubnet(26);
    const first = await create(subnet.id, { Ipv4PrefixCount: 2 });
    expect(prefixes(first)).toHaveLength(2);
    const full = await failure(create(subnet.id, { Ipv4PrefixCount: 1 }));
    expect(full.name).toBe('InsufficientCidrBlocks');
    // A plain create in a subnet with delegated prefixes gets an address outside them (moto alone draws any).
    const secondEni = await create(subnet.id);
    const both = [...footprint(first), ...footprint(secondEni)];
    expect(new Set(both).size).toBe(both.length);
    const second = secondEni.NetworkInterfaceId!;
    const assignFull = await failure(ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: second, Ipv4PrefixCount: 1 })));
    expect(assignFull.name).toBe('InsufficientCidrBlocks');

    await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: first.NetworkInterfaceId! }));
    const reused = await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: second, Ipv4PrefixCount: 2 }));
    expect(reused.AssignedIpv4Prefixes!.map((p) => p.Ipv4Prefix).sort()).toEqual(prefixes(first).sort());

    await control('POST', '/reset');
    expect((await describeEni(second)).Ipv4Prefixes).toBeUndefined();
  });

  it("limits: an attached ENI holds at most its instance type's Ipv4AddressesPerInterface, each prefix counting as one", async () => {
    await control('PUT', '/semantics', { attachingMs: 0 });
    const subnet = await freshSubnet();
    // m5.large: Ipv4AddressesPerInterface 10 (DescribeInstanceTypes).
    const atLimit = (await create(subnet.id, { SecondaryPrivateIpAddressCount: 8 })).NetworkInterfaceId!;
    await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: atLimit, Ipv4PrefixCount: 1 })); // 9 + 1 = 10
    const small = await newInstance('m5.large');
    await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: atLimit, InstanceId: small, DeviceIndex: 1 }));
    for (const more of [{ SecondaryPrivateIpAddressCount: 1 }, { Ipv4PrefixCount: 1 }]) {
      const err = await failure(ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: atLimit, ...more })));
      expect(err.name).toBe('PrivateIpAddressLimitExceeded');
      expect(err.message).toBe(`${atLimit}: Number of private addresses will exceed limit.`);
    }
    const held = await describeEni(atLimit);
    expect(ips(held).length + prefixes(held).length).toBe(10);

    // Unattached, an ENI may hold more (it has no instance type yet); the attach is refused.
    const over = (await create(subnet.id, { Ipv4PrefixCount: 10 })).NetworkInterfaceId!; // 1 + 10 = 11
    const refused = await failure(ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: over, InstanceId: small, DeviceIndex: 2 })));
    expect(refused.name).toBe('PrivateIpAddressLimitExceeded');
    expect((await describeEni(over, direct)).Status).toBe('available');
    // On the default node type (m5.4xlarge, 30 per interface) it fits.
    const big = await newInstance();
    await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: over, InstanceId: big, DeviceIndex: 1 }));
    // Turned off by name, the limit is not enforced.
    await control('PUT', '/semantics', { addressLimit: false });
    await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: atLimit, SecondaryPrivateIpAddressCount: 1 }));
    expect(ips(await describeEni(atLimit))).toHaveLength(10);
  });
});
