import { classifyEc2Error, DEVICE_INDEX_CONFLICT } from './ec2-errors.js';

const awsError = (name: string, message: string, status: number) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

describe('classifyEc2Error', () => {
  it('treats throttling as retryable and marks it throttled', () => {
    const c = classifyEc2Error(awsError('RequestLimitExceeded', 'Request limit exceeded.', 503));
    expect(c).toEqual({ code: 'RequestLimitExceeded', message: 'Request limit exceeded.', retryable: true, throttled: true });
  });

  it('treats an unknown subnet, missing permissions and limits as permanent, keeping the AWS message', () => {
    expect(classifyEc2Error(awsError('InvalidSubnetID.NotFound', "The subnet ID 'subnet-x' does not exist", 400))).toMatchObject({
      retryable: false,
      message: "The subnet ID 'subnet-x' does not exist",
    });
    expect(classifyEc2Error(awsError('UnauthorizedOperation', 'You are not authorized', 403)).retryable).toBe(false);
    expect(classifyEc2Error(awsError('NetworkInterfaceLimitExceeded', 'limit', 400)).retryable).toBe(false);
  });

  it('recognises a device-index conflict among invalid parameters', () => {
    const c = classifyEc2Error(awsError('InvalidParameterValue', "Instance 'i-1' already has an interface attached at device index '2'.", 400));
    expect(c.code).toBe(DEVICE_INDEX_CONFLICT);
    expect(c.retryable).toBe(false);
  });

  it('retries 5xx, transient states and network errors, not unknown client errors', () => {
    expect(classifyEc2Error(awsError('SomethingNew', 'boom', 500)).retryable).toBe(true);
    expect(classifyEc2Error(awsError('InvalidNetworkInterface.InUse', 'in use', 400)).retryable).toBe(true);
    expect(classifyEc2Error(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })).retryable).toBe(true);
    expect(classifyEc2Error(awsError('SomethingNew', 'bad', 400)).retryable).toBe(false);
  });
});
