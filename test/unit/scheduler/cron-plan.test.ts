import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cronSchedule, maxCountedMisses, planJob } from '../../../src/scheduler/index.js';

const t = (iso: string): number => Date.parse(iso);
const isoList = (times: readonly number[]): string[] => times.map((ms) => new Date(ms).toISOString());

describe('cron due times', () => {
  it('computes due times in the job zone, following its UTC offset through the year', () => {
    const berlin = cronSchedule('0 9 * * *', 'Europe/Berlin');
    assert.equal(new Date(berlin.nextAfter(t('2026-01-10T00:00:00Z'))!).toISOString(), '2026-01-10T08:00:00.000Z'); // CET, UTC+1
    assert.equal(new Date(berlin.nextAfter(t('2026-07-10T00:00:00Z'))!).toISOString(), '2026-07-10T07:00:00.000Z'); // CEST, UTC+2
    const tokyo = cronSchedule('30 8 * * 1-5', 'Asia/Tokyo');
    // Saturday 2026-01-10 in Tokyo: the next weekday 08:30 JST is Monday the 12th, 23:30 UTC on the 11th.
    assert.equal(new Date(tokyo.nextAfter(t('2026-01-10T00:00:00Z'))!).toISOString(), '2026-01-11T23:30:00.000Z');
    assert.equal(cronSchedule('0 9 * * *').timezone, 'UTC');
  });

  it('reads a 6-field expression as seconds first', () => {
    const everyFifteen = cronSchedule('*/15 * * * * *');
    assert.deepEqual(isoList(everyFifteen.between(t('2026-01-01T00:00:00Z'), t('2026-01-01T00:01:00Z'), 10).times), [
      '2026-01-01T00:00:15.000Z',
      '2026-01-01T00:00:30.000Z',
      '2026-01-01T00:00:45.000Z',
      '2026-01-01T00:01:00.000Z',
    ]);
    const fiveField = cronSchedule('*/15 * * * *');
    assert.equal(new Date(fiveField.nextAfter(t('2026-01-01T00:00:00Z'))!).toISOString(), '2026-01-01T00:15:00.000Z');
  });

  it('is strictly after its start and stops at the limit', () => {
    const everySecond = cronSchedule('* * * * * *');
    assert.equal(everySecond.nextAfter(t('2026-01-01T00:00:00.000Z')), t('2026-01-01T00:00:01Z'));
    assert.equal(everySecond.nextAfter(t('2026-01-01T00:00:00.500Z')), t('2026-01-01T00:00:01Z'));
    const limited = everySecond.between(t('2026-01-01T00:00:00Z'), t('2026-01-01T00:01:00Z'), 5);
    assert.equal(limited.times.length, 5);
    assert.equal(limited.more, true);
  });

  it('runs a 02:30 job once on a spring-forward day, at 03:30 local (the hour 02:00-03:00 does not exist)', () => {
    // Europe/Berlin jumps from 02:00 CET to 03:00 CEST on 2026-03-29.
    const job = cronSchedule('30 2 * * *', 'Europe/Berlin');
    assert.deepEqual(isoList(job.between(t('2026-03-28T12:00:00Z'), t('2026-03-30T12:00:00Z'), 10).times), [
      '2026-03-29T01:30:00.000Z', // 03:30 CEST: the skipped 02:30 runs one hour later, once
      '2026-03-30T00:30:00.000Z', // 02:30 CEST the next day
    ]);
  });

  it('runs a 01:30 job once on a fall-back day, at the first 01:30 (daylight time)', () => {
    // America/New_York repeats 01:00-02:00 on 2026-11-01: 01:30 EDT = 05:30Z, 01:30 EST = 06:30Z.
    const job = cronSchedule('30 1 * * *', 'America/New_York');
    assert.deepEqual(isoList(job.between(t('2026-10-31T12:00:00Z'), t('2026-11-02T12:00:00Z'), 10).times), [
      '2026-11-01T05:30:00.000Z',
      '2026-11-02T06:30:00.000Z',
    ]);
  });

  it('keeps real elapsed time for sub-hour jobs through the repeated hour', () => {
    const halfHourly = cronSchedule('*/30 * * * *', 'America/New_York');
    assert.deepEqual(isoList(halfHourly.between(t('2026-11-01T04:50:00Z'), t('2026-11-01T07:00:00Z'), 10).times), [
      '2026-11-01T05:00:00.000Z', // 01:00 EDT
      '2026-11-01T05:30:00.000Z', // 01:30 EDT
      '2026-11-01T06:00:00.000Z', // 01:00 EST
      '2026-11-01T06:30:00.000Z', // 01:30 EST
      '2026-11-01T07:00:00.000Z', // 02:00 EST
    ]);
  });
});

describe('planJob: what a wake-up runs and what it records as skipped', () => {
  const everyMinute = cronSchedule('* * * * *');
  const skip = { catchUp: false, maxCatchUp: 100, startingDeadlineMs: 60_000 };
  const catchUp = { catchUp: true, maxCatchUp: 3, startingDeadlineMs: 60_000 };
  const last = t('2026-01-01T00:00:00Z');

  it('runs the one due time at its time', () => {
    assert.deepEqual(planJob(everyMinute, last, t('2026-01-01T00:01:00.004Z'), skip), { runs: [t('2026-01-01T00:01:00Z')], skipped: null });
    assert.deepEqual(planJob(everyMinute, last, t('2026-01-01T00:00:59.999Z'), skip), { runs: [], skipped: null });
  });

  it('without catch-up runs only the latest due time and records the earlier ones as skipped, with their count', () => {
    const plan = planJob(everyMinute, last, t('2026-01-01T00:05:20Z'), skip);
    assert.deepEqual(isoList(plan.runs), ['2026-01-01T00:05:00.000Z']);
    assert.deepEqual(plan.skipped, { count: 4, countCapped: false, from: t('2026-01-01T00:01:00Z'), to: t('2026-01-01T00:04:00Z') });
  });

  it('without catch-up skips the latest too when it is later than the starting deadline', () => {
    const hourly = cronSchedule('0 * * * *');
    const plan = planJob(hourly, last, t('2026-01-01T03:10:00Z'), skip);
    assert.deepEqual(plan.runs, []);
    assert.deepEqual(plan.skipped, { count: 3, countCapped: false, from: t('2026-01-01T01:00:00Z'), to: t('2026-01-01T03:00:00Z') });
  });

  it('with catch-up runs each missed due time, oldest first, up to the bound; older ones are skipped', () => {
    const plan = planJob(everyMinute, last, t('2026-01-01T00:05:20Z'), catchUp);
    assert.deepEqual(isoList(plan.runs), ['2026-01-01T00:03:00.000Z', '2026-01-01T00:04:00.000Z', '2026-01-01T00:05:00.000Z']);
    assert.deepEqual(plan.skipped, { count: 2, countCapped: false, from: t('2026-01-01T00:01:00Z'), to: t('2026-01-01T00:02:00Z') });
    const hourly = planJob(cronSchedule('0 * * * *'), last, t('2026-01-01T02:30:00Z'), catchUp);
    assert.deepEqual(isoList(hourly.runs), ['2026-01-01T01:00:00.000Z', '2026-01-01T02:00:00.000Z'], 'catch-up runs late due times regardless of the deadline');
    assert.equal(hourly.skipped, null);
  });

  it('bounds the counting of a long gap and says the count is a lower bound', () => {
    const everySecond = cronSchedule('* * * * * *');
    const now = last + 2 * 86_400_000 + 500; // two days of every-second due times
    const plan = planJob(everySecond, last, now, catchUp);
    assert.deepEqual(isoList(plan.runs), isoList([now - 2500, now - 1500, now - 500]));
    assert.ok(plan.skipped !== null && plan.skipped.countCapped);
    assert.ok(plan.skipped.count >= maxCountedMisses);
    assert.equal(plan.skipped.from, last + 1000);
    assert.ok(plan.skipped.to < plan.runs[0]!);
  });
});
