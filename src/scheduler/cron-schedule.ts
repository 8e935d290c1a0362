import { CronExpressionParser } from 'cron-parser';

/**
 * A job's cron expression in its zone. Due times are always enumerated FORWARD from a known point
 * (the job's last tick): cron-parser's prev() does not mirror next() around DST changes (at a
 * fall-back it finds the second 01:30 that next() skips), so using it to look back would run a
 * job twice on that day.
 */
export interface CronSchedule {
  readonly cron: string;
  readonly timezone: string;
  /** The first due time strictly after `afterMs`, or undefined when there is none (never for valid crons). */
  nextAfter(afterMs: number): number | undefined;
  /** Due times in (afterMs, untilMs], oldest first, at most `limit` of them; `more` says whether it stopped early. */
  between(afterMs: number, untilMs: number, limit: number): { readonly times: number[]; readonly more: boolean };
}

export function cronSchedule(cron: string, timezone = 'UTC'): CronSchedule {
  // Parse once to fail fast; each enumeration needs its own iterator positioned at its start.
  CronExpressionParser.parse(cron, { tz: timezone, strict: false });
  const iterate = (afterMs: number) => CronExpressionParser.parse(cron, { tz: timezone, strict: false, currentDate: new Date(afterMs) });
  return {
    cron,
    timezone,
    nextAfter(afterMs) {
      const it = iterate(afterMs);
      return it.hasNext() ? it.next().getTime() : undefined;
    },
    between(afterMs, untilMs, limit) {
      const times: number[] = [];
      if (untilMs <= afterMs) return { times, more: false };
      const it = iterate(afterMs);
      while (it.hasNext()) {
        const t = it.next().getTime();
        if (t > untilMs) return { times, more: false };
        if (times.length >= limit) return { times, more: true };
        times.push(t);
      }
      return { times, more: false };
    },
  };
}
