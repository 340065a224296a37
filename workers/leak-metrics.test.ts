import { countLeakDeletes } from './leak-metrics.js';
import { WORKFLOW_TYPE_FLEET } from '../common/names.js';

describe('countLeakDeletes', () => {
  it("counts the fleet sweep's successful deletes only", async () => {
    let type: string | undefined = WORKFLOW_TYPE_FLEET;
    let counted = 0;
    const deleted: string[] = [];
    const acts = countLeakDeletes(
      {
        other: 1,
        deleteEni: async ({ eniId }: { eniId: string }) => {
          if (eniId === 'eni-bad') throw new Error('DependencyViolation');
          deleted.push(eniId);
        },
      },
      () => counted++,
      () => type,
    );
    await acts.deleteEni({ eniId: 'eni-leak' });
    await expect(acts.deleteEni({ eniId: 'eni-bad' })).rejects.toThrow('DependencyViolation');
    type = 'eniLifecycle';
    await acts.deleteEni({ eniId: 'eni-pair' });
    type = undefined;
    await acts.deleteEni({ eniId: 'eni-script' });
    expect(deleted).toEqual(['eni-leak', 'eni-pair', 'eni-script']);
    expect(counted).toBe(1);
    expect(acts.other).toBe(1);
  });
});
