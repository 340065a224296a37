import { ApplicationFailure } from '@temporalio/activity';
import { NodeInstanceCheck, nodeInstanceMismatch } from './node-check.js';
import { ERROR_TYPES } from '../common/error-types.js';

describe('nodeInstanceMismatch', () => {
  it("accepts the instance the Node's providerID names", () => {
    expect(nodeInstanceMismatch('n1', 'i-0abc', 'aws:///us-east-1a/i-0abc')).toBeUndefined();
  });
  it('refuses a Node that does not exist, another instance, an unset or foreign providerID', () => {
    expect(nodeInstanceMismatch('n1', 'i-0abc', null)).toBe('node n1 is not a Node of this cluster: nothing is put on instance i-0abc');
    expect(nodeInstanceMismatch('n1', 'i-0abc', 'aws:///us-east-1a/i-0def')).toBe("instance i-0abc is not node n1's (its spec.providerID is 'aws:///us-east-1a/i-0def'): nothing is put on it");
    expect(nodeInstanceMismatch('n1', 'i-0abc', undefined)).toMatch(/its spec\.providerID is unset/);
    expect(nodeInstanceMismatch('n1', 'i-0abc', 'kind://docker/kind/i-0abc')).toMatch(/is not node n1's/);
  });
});

describe('NodeInstanceCheck', () => {
  const failureOf = async (p: Promise<void>): Promise<ApplicationFailure> => {
    try {
      await p;
    } catch (e) {
      return e as ApplicationFailure;
    }
    throw new Error('expected a failure');
  };

  it('fails non-retryably as InstanceNotInCluster, naming node and instance', async () => {
    const check = new NodeInstanceCheck(async () => 'aws:///us-east-1a/i-0node');
    await expect(check.check('n1', 'i-0node')).resolves.toBeUndefined();
    const f = await failureOf(check.check('n1', 'i-0other'));
    expect(f).toBeInstanceOf(ApplicationFailure);
    expect(f.type).toBe(ERROR_TYPES.instanceNotInCluster);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toMatch(/^instance i-0other is not node n1's/);
  });

  it('reads each Node once per TTL, concurrent checks sharing the read; an unset providerID is read again', async () => {
    let now = 0;
    const reads: string[] = [];
    const answers: Record<string, string | null | undefined> = { a: 'aws:///az/i-0a', gone: null, fresh: undefined };
    const check = new NodeInstanceCheck(async (n) => (reads.push(n), answers[n]), 60_000, () => now);
    await Promise.all([check.check('a', 'i-0a'), check.check('a', 'i-0a'), check.check('a', 'i-0a')]);
    await expect(check.check('gone', 'i-0x')).rejects.toThrow(/not a Node of this cluster/);
    await expect(check.check('gone', 'i-0x')).rejects.toThrow(/not a Node of this cluster/);
    await expect(check.check('fresh', 'i-0f')).rejects.toThrow(/unset/);
    answers.fresh = 'aws:///az/i-0f';
    await check.check('fresh', 'i-0f');
    expect(reads).toEqual(['a', 'gone', 'fresh', 'fresh']);
    now += 60_000;
    await check.check('a', 'i-0a');
    expect(reads).toEqual(['a', 'gone', 'fresh', 'fresh', 'a']);
  });

  it('lets an apiserver error through as it is (retryable): the attach waits for the answer', async () => {
    const check = new NodeInstanceCheck(async () => {
      throw new Error('connect ECONNREFUSED');
    });
    const f = await failureOf(check.check('n1', 'i-0a'));
    expect(f).not.toBeInstanceOf(ApplicationFailure);
    expect(f.message).toBe('connect ECONNREFUSED');
  });
});
