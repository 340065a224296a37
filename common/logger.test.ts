import { Writable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/common';
import { createLogger, logFields, messageLogger, pinoLevel, temporalLogger } from './logger.js';

function capture(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, stream };
}

describe('logFields and pinoLevel', () => {
  it('drops the task token, keeps errors readable, turns bigints into strings', () => {
    expect(logFields({ taskToken: new Uint8Array([1]), eniId: 'eni-1', n: 7n, error: ApplicationFailure.nonRetryable('gone', 'LinkNotFound') })).toEqual({
      eniId: 'eni-1',
      n: '7',
      error: { name: 'ApplicationFailure', message: 'gone', type: 'LinkNotFound' },
    });
    expect(logFields(undefined)).toEqual({});
    expect(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'].map((l) => pinoLevel(l as 'INFO'))).toEqual(['trace', 'debug', 'info', 'warn', 'error']);
  });
});

describe('createLogger', () => {
  it('one JSON object a line with time, level name, component and the bindings given; SDK and plain messages alike', () => {
    const { lines, stream } = capture();
    const log = createLogger({ component: 'node-agent', bindings: { node: 'ip-10-0-0-1', pod: undefined }, level: 'debug', destination: stream });
    temporalLogger(log).log('WARN', 'activity failed', { workflowId: 'w1', taskToken: 'secret', node: 'ip-10-0-0-1' });
    temporalLogger(log).trace('too fine');
    messageLogger(log.child({ scope: 'watcher' })).error('reconcile failed');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toEqual({ time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), level: 'warn', component: 'node-agent', node: 'ip-10-0-0-1', workflowId: 'w1', message: 'activity failed' });
    expect(lines[1]).toMatchObject({ level: 'error', component: 'node-agent', scope: 'watcher', message: 'reconcile failed' });
  });
});
