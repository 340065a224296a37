// The seeds' NodeENI manifests as users have them, made to apply on the local stack: only the
// account-specific subnet and security group IDs are swapped for the emulator's seeded ones.
// Shared by the demo and the end-to-end tests (test/support/cluster.ts re-exports seedManifest).
import fs from 'node:fs';
import path from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';
import { REPO_ROOT } from '../stack/paths.js';
import { readState } from '../stack/stack.js';
import type { Seed } from '../stack/seed.js';
import type { NodeENI } from '../../common/nodeeni.js';

export const SEEDS_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'seeds');

/** The IDs the seeds' manifests carry: real in their author's account, unknown here. */
export const SEED_SUBNET_ID = 'subnet-0f59b4f14737be9ad';
export const SEED_SG_ID = 'sg-05da196f3314d4af8';

function runningSeed(): Seed {
  const s = readState();
  if (!s) throw new Error('no local stack: run `npm run stack:up` (or the integration tests\' global setup) first');
  return s.seed;
}

/**
 * A seed manifest (a file in test/fixtures/seeds) with its subnet and security group IDs swapped for the
 * first seeded subnet and group of the running stack (or of `seed`). Nothing else changes.
 */
export function seedManifest(file: string, seed: Seed = runningSeed()): NodeENI {
  const subnet = seed.subnets[0];
  const sg = seed.securityGroups[0];
  if (!subnet || !sg) throw new Error('the stack seed has no subnet or security group');
  const text = fs.readFileSync(path.join(SEEDS_DIR, file), 'utf8').replaceAll(SEED_SUBNET_ID, subnet.id).replaceAll(SEED_SG_ID, sg.id);
  return loadAllYaml(text)[0] as NodeENI;
}

/** The demo's NodeENIs: the three telco cases of the blog and a multi-subnet one, by file. */
export const DEMO_SEED_FILES = ['case1-control-plane.yaml', 'case2-sriov-kernel.yaml', 'case3-dpdk.yaml', 'multi-subnet-by-name.yaml'] as const;

/** Device index the demo gives the multi-subnet NodeENI: its seed asks for 2, which case 1 already takes. */
export const MULTI_SUBNET_DEVICE_INDEX = 5;

export interface DemoManifestOptions {
  /** Appended to every NodeENI name (`control-plane-eni-<suffix>`), so demos on one cluster do not collide. */
  nameSuffix?: string;
  /** Labels put on every NodeENI (what a controller's NODEENI_SELECTOR picks). */
  labels?: Record<string, string>;
  /** Value of the `ng` node label the demo's nodes carry; the manifests' `ng: multi-eni` selector follows it. */
  nodeGroup?: string;
}

export interface DemoManifest {
  file: string;
  obj: NodeENI;
  /** What the demo changed in the manifest besides the account-specific IDs, for the user to read. */
  notes: string[];
}

export function demoManifests(seed: Seed, o: DemoManifestOptions = {}): DemoManifest[] {
  return DEMO_SEED_FILES.map((file) => {
    const obj = seedManifest(file, seed);
    const notes: string[] = [];
    if (file === 'multi-subnet-by-name.yaml') {
      notes.push(`deviceIndex ${obj.spec.deviceIndex} -> ${MULTI_SUBNET_DEVICE_INDEX} (2 is case 1's); its 2 subnets take ${MULTI_SUBNET_DEVICE_INDEX} and ${MULTI_SUBNET_DEVICE_INDEX + 1}`);
      obj.spec.deviceIndex = MULTI_SUBNET_DEVICE_INDEX;
    }
    if (o.nameSuffix) obj.metadata.name = `${obj.metadata.name}-${o.nameSuffix}`;
    if (o.labels && Object.keys(o.labels).length) obj.metadata.labels = { ...(obj.metadata.labels ?? {}), ...o.labels };
    if (o.nodeGroup && obj.spec.nodeSelector.ng !== undefined && obj.spec.nodeSelector.ng !== o.nodeGroup) {
      notes.push(`nodeSelector ng: ${obj.spec.nodeSelector.ng} -> ${o.nodeGroup}`);
      obj.spec.nodeSelector = { ...obj.spec.nodeSelector, ng: o.nodeGroup };
    }
    return { file, obj, notes };
  });
}

/** Attachments a NodeENI wants on `nodes` matching nodes: one per subnet per node. */
export function subnetCount(obj: NodeENI): number {
  const s = obj.spec;
  const ids = new Set([...(s.subnetID ? [s.subnetID] : []), ...(s.subnetIDs ?? [])]);
  const names = new Set([...(s.subnetName ? [s.subnetName] : []), ...(s.subnetNames ?? [])]);
  return ids.size + names.size;
}

/** The seed 003 topology's subnets (two Multus subnets per AZ, two AZs), in the order the README lists them. */
export const MULTI_AZ_SUBNETS = ['multus-test-subnet-1', 'multus-test-subnet-2', 'multus-test-subnet-3', 'multus-test-subnet-4'] as const;

/**
 * The demo's multi-AZ NodeENI (README "Several availability zones in one NodeENI"): one NodeENI over the seed 003
 * topology, by subnet and security group names. Its name carries the suffix, its labels the controller's selector.
 */
export function multiAzManifest(seed: Seed, o: DemoManifestOptions = {}): DemoManifest {
  const az = (name: string) => seed.subnets.find((s) => s.name === name)?.az ?? '?';
  const obj: NodeENI = {
    apiVersion: 'networking.k8s.aws/v1alpha1',
    kind: 'NodeENI',
    metadata: { name: o.nameSuffix ? `multi-az-nodeeni-${o.nameSuffix}` : 'multi-az-nodeeni', ...(o.labels && Object.keys(o.labels).length ? { labels: { ...o.labels } } : {}) },
    // Addresses for Multus pods on each ENI: two secondaries and one /28 prefix (`kubectl nodeeni nad` turns them into
    // NetworkAttachmentDefinitions).
    spec: {
      nodeSelector: { ng: o.nodeGroup ?? 'multi-eni-telco' },
      subnetNames: [...MULTI_AZ_SUBNETS],
      securityGroupNames: ['multus-test-sg'],
      deviceIndex: 2,
      secondaryIPv4Count: 2,
      ipv4PrefixCount: 1,
    },
  };
  const byAz = new Map<string, string[]>();
  for (const n of MULTI_AZ_SUBNETS) byAz.set(az(n), [...(byAz.get(az(n)) ?? []), n]);
  const notes = [...byAz].map(([zone, names]) => `a node in ${zone} gets ${names.map((n, i) => `${n} at index ${2 + i}`).join(' and ')}`);
  return { file: '(README multi-AZ example, seed 003 topology)', obj, notes };
}
