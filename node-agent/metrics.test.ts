import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { NodeAgentMetrics, operationOutcome } from './metrics.js';
import { badInput, deviceRefused, linkNotFound } from './errors.js';

describe('operationOutcome', () => {
  it('names ok, cancelled, the known non-retryable failures, and everything else error', () => {
    expect(operationOutcome()).toBe('ok');
    expect(operationOutcome(new CancelledFailure('cancelled'))).toBe('cancelled');
    expect(operationOutcome(linkNotFound('x'))).toBe('LinkNotFound');
    expect(operationOutcome(badInput('mtu', 'x'))).toBe('InvalidNodeAgentInput');
    expect(operationOutcome(deviceRefused('x'))).toBe('DeviceRefused');
    expect(operationOutcome(ApplicationFailure.nonRetryable('x', 'SomethingElse'))).toBe('error');
    expect(operationOutcome(new Error('ip failed'))).toBe('error');
    expect(operationOutcome('a string')).toBe('error');
  });
});

describe('NodeAgentMetrics', () => {
  it('counts calls by operation and outcome and keeps the last hardware poll time', async () => {
    let now = 5_000;
    const m = new NodeAgentMetrics(() => now);
    const wrapped = m.instrument({
      configureInterface: async (i) => {
        if (i.mtu === 1) throw linkNotFound('no link');
        return { state: 'up', dpdkBound: false };
      },
      releaseInterface: async () => {
        throw new Error('ip: busy');
      },
    });
    const input = { nodeENI: 'n', eniId: 'eni-1', macAddress: '0e:00:00:00:00:01', deviceIndex: 1 };
    await wrapped.configureInterface(input);
    await expect(wrapped.configureInterface({ ...input, mtu: 1 })).rejects.toThrow('no link');
    await expect(wrapped.releaseInterface(input)).rejects.toThrow('busy');
    const text = await m.registry.metrics();
    expect(text).toContain('multi_eni_node_agent_operations_total{operation="configure",outcome="ok"} 1');
    expect(text).toContain('multi_eni_node_agent_operations_total{operation="configure",outcome="LinkNotFound"} 1');
    expect(text).toContain('multi_eni_node_agent_operations_total{operation="release",outcome="error"} 1');
    expect(text).toContain('multi_eni_node_agent_operations_total{operation="release",outcome="ok"} 0');
    expect(text).toContain('multi_eni_node_agent_operation_seconds_count{operation="configure"} 2');
    expect(text).toContain('multi_eni_node_agent_last_hardware_poll_timestamp_seconds 0');
    m.hardwarePolled();
    now = 9_500;
    m.hardwarePolled();
    expect(await m.registry.metrics()).toContain('multi_eni_node_agent_last_hardware_poll_timestamp_seconds 9.5');
  });
});
