// The generated `degraded` NodeENIs (well formed, so admitted, but unsatisfiable: subnets and security groups that do
// not exist, of another AZ or VPC, a PCI address that is not the ENI's device) applied all at once next to a Ready
// NodeENI on a running controller: within a minute each shows Degraded=True and a Warning Event naming the field it
// breaks; the Ready one keeps its ENI and stays Ready; the controller process is the same one throughout.
import fs from 'node:fs';
import type { NodeENI } from '../../common/nodeeni.js';
import { clusterForSuite } from '../support/cluster.js';
import { eventually, stack } from '../support/env.js';
import { degradedCases, manifest, type BadCase } from './generate.js';

const DEADLINE_MS = 60_000;

interface Seen {
  degraded?: { status: string; reason: string; message: string };
  warnings: string[];
  attachments: { phase?: string; message?: string }[];
}

/** The field's own name as a word: `spec.subnetNames` is named by "subnetNames" (also in `spec.subnetName/subnetNames`). */
function names(text: string, field: string): boolean {
  const word = field.replace(/^spec\./, '').replace(/\[\d+\]$/, '');
  return new RegExp(`(^|[^A-Za-z0-9])${word}([^A-Za-z0-9]|$)`).test(text);
}

describe('generated degraded NodeENIs next to a Ready one', () => {
  const c = clusterForSuite(1);
  const cases: BadCase[] = [];
  let seen: Map<string, Seen> | undefined;

  it('each shows Degraded=True and a Warning within a minute; the Ready NodeENI keeps its ENI; the controller does not restart', async () => {
    const s = stack();
    const subnet = s.seed.subnets.find((x) => x.az === 'us-east-1a')!;
    const good = `good-${c.runId}`;
    await c.apply({
      apiVersion: 'networking.k8s.aws/v1alpha1',
      kind: 'NodeENI',
      metadata: { name: good },
      spec: { nodeSelector: { ng: c.nodeGroup }, subnetID: subnet.id, securityGroupIDs: [s.seed.securityGroups[0]!.id], deviceIndex: 1 },
    });
    const before = (await c.waitReady(good, 1)).status!.attachments![0]!;
    expect(before.eniID).toMatch(/^eni-/);
    const pid = c.controller.pid;
    expect(pid).toBeDefined();

    cases.push(...degradedCases(s.seed, c.nodeGroup));
    const nameOf = (bc: BadCase) => `${bc.id}-${c.runId}`;
    const started = Date.now();
    await Promise.all(cases.map((bc) => c.apply(manifest(bc, nameOf(bc)) as NodeENI)));

    const look = async (): Promise<Map<string, Seen>> => {
      const out = new Map<string, Seen>();
      await Promise.all(
        cases.map(async (bc) => {
          const o = await c.get(nameOf(bc));
          const d = o?.status?.conditions?.find((x) => x.type === 'Degraded');
          const warnings = (await c.events(nameOf(bc))).filter((e) => e.type === 'Warning').map((e) => `${e.reason}: ${e.message}`);
          out.set(bc.id, { ...(d ? { degraded: { status: d.status, reason: d.reason, message: d.message } } : {}), warnings, attachments: (o?.status?.attachments ?? []).map((a) => ({ phase: a.phase, message: a.message })) });
        }),
      );
      return out;
    };
    const settled = (v: Seen) => v.degraded?.status === 'True' && v.warnings.length > 0;
    try {
      seen = await eventually('every degraded case Degraded=True with a Warning', async () => {
        const v = await look();
        return [...v.values()].every(settled) ? v : false;
      }, DEADLINE_MS, 1000);
    } catch {
      // Past the deadline: what each case shows now, so the failure lists every case that missed it.
      seen = await look();
    }
    const seconds = (Date.now() - started) / 1000;

    const problems: string[] = [];
    for (const bc of cases) {
      const v = seen.get(bc.id)!;
      const label = `${bc.id} [${bc.field}] ${bc.mutation}`;
      if (v.degraded?.status !== 'True') problems.push(`${label}: not Degraded within ${DEADLINE_MS / 1000} s: ${JSON.stringify(v)}`);
      if (v.warnings.length === 0) problems.push(`${label}: no Warning Event within ${DEADLINE_MS / 1000} s`);
    }
    console.log(
      `${cases.length} degraded cases applied at once; ${cases.length - problems.length} shown Degraded with a Warning after ${seconds.toFixed(1)} s\n` +
        cases.map((bc) => `${bc.id} [${bc.field}] ${bc.mutation}: ${seen!.get(bc.id)?.degraded?.message ?? '(no Degraded condition)'}`).join('\n'),
    );
    expect(problems).toEqual([]);

    // Refused before an ENI was attached: none is left in EC2 (the PCI case is refused by the node agent after attach).
    const early = cases.filter((bc) => bc.field !== 'spec.dpdkPCIAddress');
    let left: string[] = [];
    await eventually('no ENI left for the cases refused before attach', async () => {
      left = (await c.enis([{ Name: 'tag:NodeENI', Values: early.map(nameOf) }])).map((e) => `${e.NetworkInterfaceId} of ${e.TagSet?.find((t) => t.Key === 'NodeENI')?.Value}`);
      return left.length === 0;
    }).catch((e: Error) => {
      throw new Error(`${e.message}: ${left.join(', ')}`);
    });

    // Nothing already Ready was disturbed: the same ENI, Ready, and no Warning on it.
    const after = await c.get(good);
    expect(after!.status!.attachments).toHaveLength(1);
    expect(after!.status!.attachments![0]).toMatchObject({ phase: 'Ready', eniID: before.eniID, attachmentID: before.attachmentID });
    expect(after!.status!.conditions!.find((x) => x.type === 'Ready')).toMatchObject({ status: 'True' });
    expect((await c.events(good)).filter((e) => e.type === 'Warning')).toEqual([]);
    expect((await c.enis([{ Name: 'tag:NodeENI', Values: [good] }])).map((e) => e.NetworkInterfaceId)).toEqual([before.eniID]);

    // No restart: the same process, alive, that logged its start once.
    expect(c.controller.pid).toBe(pid);
    expect(() => process.kill(pid!, 0)).not.toThrow();
    expect(fs.readFileSync(c.controller.log, 'utf8').match(/multi-eni controller running/g)).toHaveLength(1);
  }, 240_000);

  // What the user reads must say which field to fix: the Degraded condition and a Warning name it.
  it('each Degraded condition and a Warning of each name the field it breaks', () => {
    expect(seen).toBeDefined();
    const problems: string[] = [];
    for (const bc of cases) {
      const v = seen!.get(bc.id)!;
      const label = `${bc.id} [${bc.field}] ${bc.mutation}`;
      if (!v.degraded || !names(v.degraded.message, bc.field)) problems.push(`${label}: the Degraded message does not name ${bc.field}: ${v.degraded?.message}`);
      if (!v.warnings.some((w) => names(w, bc.field))) problems.push(`${label}: no Warning names ${bc.field}: ${v.warnings.join(' | ')}`);
    }
    expect(problems).toEqual([]);
  });
});
