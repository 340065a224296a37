// Writes the chart's CRD from the zod schema: `npm run gen:crd`. A unit test fails when the file is stale.
import fs from 'node:fs';
import path from 'node:path';
// js-yaml directly: client-node's dumpYaml passes objects through its typed models, which drop the keys
// they do not know (x-kubernetes-validations, enum, list types).
import { dump } from 'js-yaml';
import { nodeENIAttachmentCrd, nodeENICrd } from '../../common/crd.js';
import { REPO_ROOT } from '../stack/paths.js';

export const CRD_PATH = path.join(REPO_ROOT, 'helm', 'multi-eni-controller', 'crds', 'nodeenis.networking.k8s.aws.yaml');
export const ATTACHMENT_CRD_PATH = path.join(REPO_ROOT, 'helm', 'multi-eni-controller', 'crds', 'nodeeniattachments.networking.k8s.aws.yaml');
export const CRD_HEADER = '# Generated from common/nodeeni.ts by `npm run gen:crd`; do not edit by hand.\n';

export function renderCrd(): string {
  return CRD_HEADER + dump(nodeENICrd(), { lineWidth: 200, noRefs: true });
}

export function renderAttachmentCrd(): string {
  return CRD_HEADER.replace('common/nodeeni.ts', 'common/nodeeni-attachment.ts') + dump(nodeENIAttachmentCrd(), { lineWidth: 200, noRefs: true });
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  fs.mkdirSync(path.dirname(CRD_PATH), { recursive: true });
  fs.writeFileSync(CRD_PATH, renderCrd());
  fs.writeFileSync(ATTACHMENT_CRD_PATH, renderAttachmentCrd());
  console.log(`wrote ${path.relative(REPO_ROOT, CRD_PATH)} and ${path.relative(REPO_ROOT, ATTACHMENT_CRD_PATH)}`);
}
