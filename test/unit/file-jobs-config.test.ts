import { loadUploadLimits } from '../../core/jobs/config';
import { clockFrom } from '../../core/jobs/file-transcriber';
import { JOB_LIMITS, partSizeFor } from '../../core/jobs/model';

const MIB = 1024 ** 2;

describe('file-job upload limits', () => {
  it('defaults to the documented threshold and part size', () => {
    expect(loadUploadLimits({})).toEqual({
      multipartThresholdBytes: JOB_LIMITS.multipartThresholdBytes,
      partSizeBytes: JOB_LIMITS.partSizeBytes,
    });
  });

  it('takes a lower threshold and part size from the environment', () => {
    expect(
      loadUploadLimits({
        JOB_MULTIPART_THRESHOLD_BYTES: String(5 * MIB),
        JOB_PART_SIZE_BYTES: String(5 * MIB),
      }),
    ).toEqual({ multipartThresholdBytes: 5 * MIB, partSizeBytes: 5 * MIB });
  });

  it('refuses a part size S3 would not take, naming the variable', () => {
    expect(() => loadUploadLimits({ JOB_PART_SIZE_BYTES: String(MIB) })).toThrow(
      /JOB_PART_SIZE_BYTES.*5 MiB/,
    );
    expect(() => loadUploadLimits({ JOB_MULTIPART_THRESHOLD_BYTES: '0' })).toThrow(
      /JOB_MULTIPART_THRESHOLD_BYTES/,
    );
  });

  it('sizes parts from the minimum given, growing them so a huge file stays within the part count', () => {
    expect(partSizeFor(11 * MIB, 5 * MIB)).toBe(5 * MIB);
    const huge = 4 * 1024 * MIB;
    const part = partSizeFor(huge, 5 * MIB);
    expect(Math.ceil(huge / part)).toBeLessThanOrEqual(JOB_LIMITS.maxParts);
  });
});

describe('the stream clock of a resumed file job', () => {
  it('maps the first audio it sends to the resume point, not to 0', () => {
    const clock = clockFrom(42_500);
    expect(clock.toMeetingMs(0)).toBe(42_500);
    expect(clock.toMeetingMs(1_250)).toBe(43_750);
    expect(clock.toMeetingEndMs(3_000)).toBe(45_500);
  });

  it('maps 1:1 for a job that starts at the beginning', () => {
    expect(clockFrom(0).toMeetingMs(7_000)).toBe(7_000);
  });
});
