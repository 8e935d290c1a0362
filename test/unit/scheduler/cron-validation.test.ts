import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FunctionError } from '../../../src/errors/index.js';
import { validateTriggers } from '../../../src/registry/index.js';

function refused(trigger: Record<string, unknown>, message: RegExp): void {
  assert.throws(
    () => validateTriggers([{ type: 'http' }, trigger]),
    (error: unknown) => error instanceof FunctionError && error.kind === 'BadRequest' && message.test(error.message),
  );
}

describe('schedule trigger validation at deploy', () => {
  it('names the field of a cron expression that is out of range', () => {
    refused({ type: 'schedule', cron: '61 * * * *' }, /^triggers\[1\]\.cron "61 \* \* \* \*" is not a valid cron expression: minute 61 out of range 0-59$/);
    refused({ type: 'schedule', cron: '* 24 * * *' }, /hour 24 out of range 0-23/);
    refused({ type: 'schedule', cron: '* * 0 * *' }, /day of month 0 out of range 1-31/);
    refused({ type: 'schedule', cron: '* * * 13 *' }, /month 13 out of range 1-12/);
    refused({ type: 'schedule', cron: '* * * * 9' }, /day of week 9 out of range 0-7/);
    refused({ type: 'schedule', cron: '60 * * * * *' }, /second 60 out of range 0-59/);
  });

  it('says which field has bad characters, and when only the combination is impossible', () => {
    refused({ type: 'schedule', cron: '* * * * mon-fry' }, /day of week field "mon-fry"/);
    refused({ type: 'schedule', cron: '*/0 * * * *' }, /minute field "\*\/0"/);
    refused({ type: 'schedule', cron: '0 0 31 2 *' }, /not a valid cron expression: .*day of month/);
  });

  it('refuses a wrong field count, an unknown IANA zone and a non-boolean catchUp', () => {
    refused({ type: 'schedule', cron: '* * * *' }, /has 4 field\(s\); use 5 \(minute hour day month weekday\) or 6 \(with seconds first\)/);
    refused({ type: 'schedule', cron: '0 * * * *', timezone: 'Europe/Atlantis' }, /triggers\[1\]\.timezone must be an IANA time zone such as "Europe\/Berlin", got "Europe\/Atlantis"/);
    refused({ type: 'schedule', cron: '0 * * * *', catchUp: 1 }, /catchUp must be true or false/);
  });

  it('accepts 5 and 6 fields with a zone and normalises the spacing', () => {
    assert.deepEqual(validateTriggers([{ type: 'schedule', cron: ' */5   * * * * ', timezone: 'Asia/Kolkata', catchUp: true }, { type: 'schedule', cron: '*/10 * * * * *' }]), [
      { type: 'schedule', cron: '*/5 * * * *', timezone: 'Asia/Kolkata', catchUp: true },
      { type: 'schedule', cron: '*/10 * * * * *' },
    ]);
  });
});
