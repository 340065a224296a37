// The controller's CLUSTER_NAME: required, no default. It is the value of the cluster tag on every ENI the
// controller creates or adopts, the fleet sweep's filter and the IAM policy's scope, so two clusters sharing an AWS
// account under one default name would sweep, modify and delete each other's ENIs. The chart's values.schema.json
// holds the same pattern (test/helm/chart.test.ts checks that they agree).
import { z } from 'zod';

/** Letters, digits, `-`, `_`, `.`; starts with a letter or digit; at most 100 characters. */
export const CLUSTER_NAME_PATTERN = /^[A-Za-z0-9][-A-Za-z0-9_.]{0,99}$/;

export const ClusterNameSchema = z
  .string({
    error: (issue) =>
      issue.input === undefined
        ? 'required: the name of this cluster (the value of the ENIs\' multi-eni.networking.k8s.aws/cluster tag and of the IAM policy\'s CLUSTER_NAME); no default'
        : 'must be a string',
  })
  .regex(CLUSTER_NAME_PATTERN, 'letters, digits, - _ . (at most 100), starting with a letter or digit');
