// The real device plugin restarter: deletes the SR-IOV device plugin's pod on this node (its DaemonSet
// recreates it, and the new pod reads the new config). Needs only list/delete pods in one namespace.
import { ApiException, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { DevicePluginRestarter } from './sriov.js';

export interface KubeRestarterOptions {
  kubeConfig: KubeConfig;
  nodeName: string;
  namespace: string;
  labelSelector: string;
  log?: (message: string, attrs: Record<string, unknown>) => void;
}

export function kubeDevicePluginRestarter(opts: KubeRestarterOptions): DevicePluginRestarter {
  const api = opts.kubeConfig.makeApiClient(CoreV1Api);
  const log = opts.log ?? (() => undefined);
  return async (reason) => {
    const pods = await api.listNamespacedPod({
      namespace: opts.namespace,
      labelSelector: opts.labelSelector,
      fieldSelector: `spec.nodeName=${opts.nodeName}`,
    });
    // A pod already terminating is being replaced by one that will read the new config.
    const names = pods.items
      .filter((p) => !p.metadata?.deletionTimestamp)
      .map((p) => p.metadata?.name)
      .filter((n): n is string => !!n);
    if (names.length === 0) {
      // Nothing to restart: a plugin that starts later reads the config as it is now.
      log('no running SR-IOV device plugin pod on this node', { namespace: opts.namespace, selector: opts.labelSelector, reason });
      return;
    }
    for (const name of names) {
      try {
        await api.deleteNamespacedPod({ name, namespace: opts.namespace });
        log('restarted SR-IOV device plugin pod', { pod: name, namespace: opts.namespace, reason });
      } catch (err) {
        if (err instanceof ApiException && err.code === 404) continue; // already gone: same outcome
        throw err;
      }
    }
  };
}
