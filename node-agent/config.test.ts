import { parseNodeAgentConfig } from './config.js';

describe('node agent configuration', () => {
  test('defaults', () => {
    expect(parseNodeAgentConfig({ NODE_NAME: 'ip-10-0-1-100.ec2.internal' })).toEqual({
      ok: true,
      config: {
        nodeName: 'ip-10-0-1-100.ec2.internal',
        temporal: { TEMPORAL_ADDRESS: 'localhost:7233', TEMPORAL_NAMESPACE: 'default' },
        sysRoot: '/sys',
        pcidpConfigPath: '/etc/pcidp/config.json',
        stateDir: '/var/lib/multi-eni',
        imdsEndpoint: 'http://169.254.169.254',
        devicePlugin: { namespace: 'kube-system', labelSelector: 'app=sriovdp' },
        metricsPort: 9470,
        logLevel: 'info',
      },
    });
  });

  test('everything set; IMDS off; the API key is kept for the connection (which turns TLS on)', () => {
    const r = parseNodeAgentConfig({
      NODE_NAME: 'node-a',
      TEMPORAL_ADDRESS: 'ns.a1b2c.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'ns.a1b2c',
      TEMPORAL_API_KEY: 'secret',
      HOST_SYS: '/host/sys',
      PCIDP_CONFIG: '/host/etc/pcidp/config.json',
      NODE_AGENT_STATE_DIR: '/host/var/lib/multi-eni',
      NODE_AGENT_NETNS: 'mneni-test-1',
      IMDS_ENDPOINT: 'off',
      DEVICE_PLUGIN_NAMESPACE: 'sriov',
      DEVICE_PLUGIN_SELECTOR: 'app.kubernetes.io/name=sriov-device-plugin',
      METRICS_PORT: '0',
      LOG_LEVEL: 'debug',
    });
    expect(r.ok && r.config).toEqual({
      nodeName: 'node-a',
      temporal: { TEMPORAL_ADDRESS: 'ns.a1b2c.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'ns.a1b2c', TEMPORAL_API_KEY: 'secret' },
      sysRoot: '/host/sys',
      pcidpConfigPath: '/host/etc/pcidp/config.json',
      stateDir: '/host/var/lib/multi-eni',
      netns: 'mneni-test-1',
      devicePlugin: { namespace: 'sriov', labelSelector: 'app.kubernetes.io/name=sriov-device-plugin' },
      metricsPort: 0,
      logLevel: 'debug',
    });
  });

  test('mTLS files', () => {
    const r = parseNodeAgentConfig({ NODE_NAME: 'n', TEMPORAL_TLS_CERT: '/certs/tls.crt', TEMPORAL_TLS_KEY: '/certs/tls.key', TEMPORAL_TLS_CA: '/certs/ca.crt' });
    expect(r.ok && r.config.temporal).toMatchObject({ TEMPORAL_TLS_CERT: '/certs/tls.crt', TEMPORAL_TLS_KEY: '/certs/tls.key', TEMPORAL_TLS_CA: '/certs/ca.crt' });
  });

  test('TLS without client certificates and a server name override, as the controller reads them', () => {
    const r = parseNodeAgentConfig({ NODE_NAME: 'n', TEMPORAL_TLS: 'true', TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' });
    expect(r.ok && r.config.temporal).toMatchObject({ TEMPORAL_TLS: 'true', TEMPORAL_TLS_SERVER_NAME: 'temporal.internal' });
  });

  test.each([
    [{}, /^NODE_NAME: is required/],
    [{ NODE_NAME: 'Node_A' }, /^NODE_NAME: /],
    [{ NODE_NAME: 'n', TEMPORAL_ADDRESS: 'http://x' }, /^TEMPORAL_ADDRESS: must be host:port/],
    [{ NODE_NAME: 'n', HOST_SYS: 'sys' }, /^HOST_SYS: must be an absolute path/],
    [{ NODE_NAME: 'n', IMDS_ENDPOINT: '169.254.169.254' }, /^IMDS_ENDPOINT: /],
    [{ NODE_NAME: 'n', TEMPORAL_TLS_CERT: '/c.crt' }, /^TEMPORAL_TLS_KEY: is required/],
    [{ NODE_NAME: 'n', NODE_AGENT_NETNS: 'a b' }, /^NODE_AGENT_NETNS: /],
    [{ NODE_NAME: 'n', DEVICE_PLUGIN_SELECTOR: 'app = x' }, /^DEVICE_PLUGIN_SELECTOR: /],
    [{ NODE_NAME: 'n', METRICS_PORT: '70000' }, /^METRICS_PORT: must be a port number/],
    [{ NODE_NAME: 'n', METRICS_PORT: 'http' }, /^METRICS_PORT: must be a port number/],
    [{ NODE_NAME: 'n', LOG_LEVEL: 'loud' }, /^LOG_LEVEL: /],
  ])('bad config %j names the variable', (env, message) => {
    const r = parseNodeAgentConfig(env);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors.join('\n')).toMatch(message);
  });

  test('empty variables count as unset', () => {
    const r = parseNodeAgentConfig({ NODE_NAME: 'n', TEMPORAL_API_KEY: '', NODE_AGENT_NETNS: ' ' });
    expect(r.ok && r.config.temporal).toEqual({ TEMPORAL_ADDRESS: 'localhost:7233', TEMPORAL_NAMESPACE: 'default' });
    expect(r.ok && r.config.netns).toBeUndefined();
  });
});
