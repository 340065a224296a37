// The NodeENI CustomResourceDefinition, generated from the zod schemas in nodeeni.ts plus the CEL rules,
// so the apiserver and the TypeScript code share one definition. dev/scripts/gen-crd.ts writes it to the chart.
import { z } from 'zod';
import { API_GROUP, API_VERSION, NODEENI_KIND, NODEENI_PLURAL } from './names.js';
import { NodeENISpecSchema, NodeENIStatusSchema, SET_FIELDS, SPEC_RULES } from './nodeeni.js';
import { CRD_CATEGORY, NODEENI_ATTACHMENT_KIND, NODEENI_ATTACHMENT_PLURAL, NodeENIAttachmentSpecSchema, NodeENIAttachmentStatusSchema } from './nodeeni-attachment.js';

type Json = { [k: string]: unknown };

/** zod's OpenAPI output made structural for Kubernetes: no $schema, no additionalProperties next to properties. */
function structural(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(structural);
  if (node === null || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node as Json)) {
    if (k === '$schema') continue;
    if (k === 'additionalProperties' && v === false) continue;
    out[k] = structural(v);
  }
  return out;
}

function openApi(schema: z.ZodType): Json {
  return structural(z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'any' })) as Json;
}

export function nodeENICrd(): Json {
  const spec = openApi(NodeENISpecSchema);
  const props = spec.properties as Record<string, Json>;
  // Sets: the apiserver refuses a repeated entry with `Duplicate value`, naming its index.
  for (const f of SET_FIELDS) props[f]!['x-kubernetes-list-type'] = 'set';
  // A label written without a value is null: kept (not pruned) so that a rule refuses it instead of the apiserver
  // silently dropping it from the selector.
  (props.nodeSelector!.additionalProperties as Json).nullable = true;
  spec['x-kubernetes-validations'] = SPEC_RULES.map((r) => ({ rule: r.rule, message: r.message, ...(r.fieldPath ? { fieldPath: r.fieldPath } : {}) }));
  const status = openApi(NodeENIStatusSchema) as { properties: Record<string, Json> };
  // Several writers (one workflow per node) own entries of one list: a map keyed by node and subnet lets
  // server-side apply merge them instead of one overwriting another.
  Object.assign(status.properties.attachments!, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['nodeID', 'subnetID'] });
  Object.assign(status.properties.conditions!, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] });
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${NODEENI_PLURAL}.${API_GROUP}` },
    spec: {
      group: API_GROUP,
      scope: 'Cluster',
      names: { kind: NODEENI_KIND, listKind: `${NODEENI_KIND}List`, plural: NODEENI_PLURAL, singular: 'nodeeni', shortNames: ['neni'], categories: [CRD_CATEGORY] },
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Ready', type: 'string', jsonPath: '.status.ready', description: 'Attachments ready / desired' },
            { name: 'Status', type: 'string', jsonPath: ".status.conditions[?(@.type=='Ready')].reason" },
            { name: 'Nodes', type: 'integer', jsonPath: '.status.nodeCount' },
            { name: 'Node', type: 'string', priority: 1, jsonPath: '.status.attachments[*].nodeID' },
            { name: 'ENI-ID', type: 'string', priority: 1, jsonPath: '.status.attachments[*].eniID' },
            { name: 'Subnet-ID', type: 'string', priority: 1, jsonPath: '.status.attachments[*].subnetID' },
            { name: 'Interface', type: 'string', priority: 1, jsonPath: '.status.attachments[*].interfaceName' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'NodeENI asks for one ENI per subnet on every node its nodeSelector matches.',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec,
                status,
              },
            },
          },
        },
      ],
    },
  };
}

/**
 * The NodeENIAttachment CRD: one object per (NodeENI, node), written whole by its pair (no status subresource: one
 * writer, one write per change), so `kubectl get nodeeniattachments -o wide` shows one row per pair.
 */
export function nodeENIAttachmentCrd(): Json {
  const status = openApi(NodeENIAttachmentStatusSchema) as { properties: Record<string, Json> };
  Object.assign(status.properties.attachments!, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['nodeID', 'subnetID'] });
  Object.assign(status.properties.conditions!, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] });
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${NODEENI_ATTACHMENT_PLURAL}.${API_GROUP}` },
    spec: {
      group: API_GROUP,
      scope: 'Cluster',
      names: {
        kind: NODEENI_ATTACHMENT_KIND,
        listKind: `${NODEENI_ATTACHMENT_KIND}List`,
        plural: NODEENI_ATTACHMENT_PLURAL,
        singular: 'nodeeniattachment',
        shortNames: ['nenia'],
        categories: [CRD_CATEGORY],
      },
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          additionalPrinterColumns: [
            { name: 'NodeENI', type: 'string', jsonPath: '.spec.nodeENI' },
            { name: 'Node', type: 'string', jsonPath: '.spec.nodeName' },
            { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
            { name: 'Ready', type: 'string', jsonPath: '.status.ready', description: 'ENIs ready / ENIs' },
            { name: 'ENIs', type: 'string', priority: 1, jsonPath: '.status.eniIDs' },
            { name: 'Interfaces', type: 'string', priority: 1, jsonPath: '.status.interfaces' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: "The ENIs of one NodeENI on one node, written by that pair's workflow; owned by the NodeENI.",
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: openApi(NodeENIAttachmentSpecSchema),
                status,
              },
            },
          },
        },
      ],
    },
  };
}
