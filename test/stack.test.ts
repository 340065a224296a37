// Each component of the local stack is the real thing and wired as the system uses it.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Watch } from '@kubernetes/client-node';
import { AttachNetworkInterfaceCommand, CreateNetworkInterfaceCommand, DescribeNetworkInterfacesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { Worker } from '@temporalio/worker';
import { API_GROUP, API_VERSION, NODEENI_PLURAL } from '../common/names.js';
import { SA_NODEENI } from '../common/search-attributes.js';
import { adminKubeConfig, eventually, motoEc2, stack, temporalClient, uniq } from './support/env.js';
import { proxy } from './support/proxy.js';

const run = promisify(execFile);

describe('the local stack', () => {
  afterAll(() => proxy.reset());

  it('kube-apiserver: NodeENIs are created, watched, and a bad field is rejected by the CRD schema', async () => {
    const s = stack();
    const kc = adminKubeConfig(s);
    const name = uniq('stack-neni');
    const kubectl = (args: string[], input?: string) => {
      const p = run(path.join(s.bin, 'kubectl'), args, { env: { ...process.env, KUBECONFIG: s.kube.kubeconfig } });
      if (input !== undefined) p.child.stdin!.end(input);
      return p;
    };
    const manifest = (spec: string) => `apiVersion: networking.k8s.aws/v1alpha1\nkind: NodeENI\nmetadata:\n  name: ${name}\nspec:\n${spec}`;
    await kubectl(['apply', '-f', '-'], manifest('  nodeSelector: {ng: stack}\n  subnetID: subnet-0f59b4f14737be9ad\n  securityGroupIDs: [sg-05da196f3314d4af8]\n'));
    // A watch from "now" lists what exists as ADDED. Right after the CRD is established a watch can end at once,
    // so each try opens a new one and waits a little for the object.
    const watched = await eventually('the NodeENI seen by a watch', async () => {
      const seen: string[] = [];
      const req = await new Watch(kc).watch(
        `/apis/${API_GROUP}/${API_VERSION}/${NODEENI_PLURAL}`,
        {},
        (type, obj: { metadata: { name: string } }) => {
          if (obj.metadata.name === name) seen.push(type);
        },
        () => undefined,
      );
      await new Promise((r) => setTimeout(r, 2000));
      req.abort();
      return seen.length ? seen : false;
    });
    expect(watched).toContain('ADDED');
    const bad = kubectl(['apply', '-f', '-'], manifest('  nodeSelector: {ng: stack}\n  subnetID: subnet-1\n  securityGroupIDs: [sg-1]\n  mtu: 100000\n'));
    await expect(bad).rejects.toThrow(/spec\.mtu: Invalid value: 100000: spec\.mtu in body should be less than or equal to 9001/);
    await kubectl(['delete', 'nodeeni', name]);
  });

  it('EC2 (moto): an ENI created, attached to a seeded instance and described through the SDK', async () => {
    const s = stack();
    const ec2 = motoEc2(s);
    const eni = (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: s.seed.subnets[1]!.id, Groups: [s.seed.securityGroups[0]!.id] }))).NetworkInterface!;
    const instance = s.seed.instances[s.seed.instances.length - 1]!;
    await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eni.NetworkInterfaceId, InstanceId: instance.id, DeviceIndex: 7 }));
    const [d] = (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eni.NetworkInterfaceId!] }))).NetworkInterfaces!;
    expect(d).toMatchObject({ SubnetId: s.seed.subnets[1]!.id, Status: 'in-use', Attachment: { InstanceId: instance.id, DeviceIndex: 7 } });
    expect(d!.MacAddress).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    ec2.destroy();
  });

  it('EC2 through the fault proxy: with throttling on, the SDK sees RequestLimitExceeded', async () => {
    const s = stack();
    await proxy.faults({ throttleRate: 1, actions: ['DescribeSubnets'] });
    const ec2 = new EC2Client({ endpoint: s.ec2.endpoint, region: s.ec2.region, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, maxAttempts: 1 });
    const { DescribeSubnetsCommand } = await import('@aws-sdk/client-ec2');
    await expect(ec2.send(new DescribeSubnetsCommand({}))).rejects.toMatchObject({ name: 'RequestLimitExceeded', $metadata: { httpStatusCode: 503 } });
    await proxy.faults({ throttleRate: 0 });
    expect((await ec2.send(new DescribeSubnetsCommand({}))).Subnets!.length).toBeGreaterThanOrEqual(4);
    ec2.destroy();
  });

  it('Temporal: a workflow runs on the server and is found by a project search attribute', async () => {
    const s = stack();
    const { client, connection } = await temporalClient(s);
    const taskQueue = uniq('stack-tq');
    const nodeENI = uniq('stack-sa');
    const worker = await Worker.create({
      connection: await (await import('@temporalio/worker')).NativeConnection.connect({ address: s.temporal.address }),
      taskQueue,
      workflowsPath: fileURLToPath(new URL('./watcher/workflows/fake-lifecycle.ts', import.meta.url)),
    });
    await worker.runUntil(async () => {
      const h = await client.workflow.start('eniLifecycle', {
        taskQueue,
        workflowId: `nodeeni/${nodeENI}/n`,
        args: [{ desired: { nodeENI, nodeName: 'n', uid: 'u', generation: 1, instanceId: 'i-1', spec: {} } }],
        typedSearchAttributes: [{ key: SA_NODEENI, value: nodeENI }],
      });
      await h.signal('release', { reason: 'test' });
      await h.result();
      const found = await eventually('found by NodeENI', async () => {
        const ids: string[] = [];
        for await (const w of client.workflow.list({ query: `NodeENI="${nodeENI}"` })) ids.push(w.workflowId);
        return ids.length ? ids : false;
      });
      expect(found).toEqual([`nodeeni/${nodeENI}/n`]);
    });
    await connection.close();
  });

  it('helm is installed and runs', async () => {
    // Built with `go install` (no release ldflags), helm reports its minor version and the Go it was built with.
    const { stdout } = await run(path.join(stack().bin, 'helm'), ['version']);
    expect(stdout).toMatch(/Version:"v3\.21/);
    expect(stdout).toMatch(/GoVersion:"go1\.\d+/);
  });
});
