// The scheduled fleet sweep: an ENI deleted behind the controller's back is recreated, a leaked ENI is deleted.
import { execFileSync } from 'node:child_process';
import { CreateNetworkInterfaceCommand, DeleteNetworkInterfaceCommand, DescribeNetworkInterfacesCommand, DetachNetworkInterfaceCommand } from '@aws-sdk/client-ec2';
import { clusterForSuite } from '../support/cluster.js';
import { eventually, stack, temporalClient, uniq } from '../support/env.js';

/** A loopback port free now (asked synchronously: the suite's controller environment is fixed when it is declared). */
function freePortSync(): number {
  const script = "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })";
  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim());
}

describe('fleet sweep', () => {
  const metricsPort = freePortSync();
  // A long interval: the test triggers the sweep itself, so nothing runs behind its back.
  const c = clusterForSuite(1, { FLEET_SWEEP_SECONDS: '3600', LEAK_COOLDOWN_SECONDS: '600', METRICS_PORT: String(metricsPort) });
  const leaksDeleted = async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    return Number(/^multi_eni_fleet_leaked_enis_deleted_total (\S+)$/m.exec(text)?.[1]);
  };

  async function sweep(): Promise<void> {
    const { client, connection } = await temporalClient();
    const schedule = client.schedule.getHandle(`fleet-${c.runId}`);
    const before = (await schedule.describe()).info.recentActions.length;
    await schedule.trigger();
    // Wait for that sweep run to finish.
    await eventually('sweep finished', async () => {
      const d = await schedule.describe();
      const last = d.info.recentActions.at(-1);
      if (d.info.recentActions.length <= before || !last) return false;
      const h = client.workflow.getHandle(last.action.workflow.workflowId, last.action.workflow.firstExecutionRunId);
      return (await h.describe()).status.name === 'COMPLETED';
    });
    await connection.close();
  }

  // The seed under a name of this suite's own: other suites apply the same seed to the shared apiserver.
  const name = uniq('fleet-jumbo');

  it('an ENI deleted outside the controller is recreated and configured again', async () => {
    await c.apply(c.seed('jumbo-frames.yaml', name));
    const first = (await c.waitReady(name, 1)).status!.attachments![0]!;
    // Someone deletes the ENI in the console: detach, then delete.
    await c.ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: first.attachmentID }));
    await c.ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: first.eniID }));
    await sweep();
    const repaired = await eventually('a new ENI Ready', async () => {
      const a = (await c.get(name))?.status?.attachments?.[0];
      return a && a.phase === 'Ready' && a.eniID !== first.eniID ? a : false;
    });
    expect(repaired).toMatchObject({ deviceIndex: 2, interfaceName: 'eth2', mtu: 9001 });
    const enis = await c.enis();
    expect(enis.map((e) => e.NetworkInterfaceId)).toEqual([repaired.eniID]);
    expect(enis[0]!.Attachment?.InstanceId).toBe(c.node(0).instanceId);
    // A repair is not a leak.
    expect(await leaksDeleted()).toBe(0);
  }, 180000);

  it('a leaked ENI of this cluster (available, older than the cool-down, held by no pair) is deleted; a young one is not', async () => {
    const s = stack();
    const make = async (createdAt: string) =>
      (
        await c.ec2.send(
          new CreateNetworkInterfaceCommand({
            SubnetId: s.seed.subnets[0]!.id,
            Groups: [s.seed.securityGroups[0]!.id],
            TagSpecifications: [
              {
                ResourceType: 'network-interface',
                Tags: [
                  { Key: 'NodeENI', Value: 'gone-nodeeni' },
                  { Key: 'Node', Value: 'gone-node' },
                  { Key: 'multi-eni.networking.k8s.aws/cluster', Value: c.clusterName },
                  { Key: 'multi-eni.networking.k8s.aws/created-at', Value: createdAt },
                ],
              },
            ],
          }),
        )
      ).NetworkInterface!.NetworkInterfaceId!;
    const leaked = await make('2026-01-01T00:00:00.000Z');
    const young = await make(new Date().toISOString());
    const held = (await c.get(name))!.status!.attachments![0]!.eniID!;
    await sweep();
    const exists = async (id: string) => {
      try {
        return ((await c.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] }))).NetworkInterfaces ?? []).length === 1;
      } catch {
        return false;
      }
    };
    expect(await exists(leaked)).toBe(false);
    expect(await exists(young)).toBe(true);
    expect(await exists(held)).toBe(true);
    // Counted: the one leaked ENI the sweep deleted.
    expect(await leaksDeleted()).toBe(1);
    await c.ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: young }));
  }, 180000);
});
