import { readdirSync, readFileSync } from 'node:fs';

/** utime + stime of one task of this process in ms (Linux; 10 ms ticks), undefined once it ended. */
function taskCpuMs(tid: string): { name: string; ms: number } | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    return { name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ms: (Number(fields[11]) + Number(fields[12])) * 10 };
  } catch {
    return undefined;
  }
}

/**
 * CPU ms of every thread of this process. Node 20 names them all "node": the main thread is
 * "main", the others are told apart by thread id.
 */
export function threadCpuMs(): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    const task = taskCpuMs(tid);
    if (task === undefined) continue;
    const name = tid === String(process.pid) ? 'main' : `${task.name}#${tid}`;
    byName.set(name, (byName.get(name) ?? 0) + task.ms);
  }
  return byName;
}

export interface CpuMark {
  readonly mainMs: number;
  readonly process: NodeJS.CpuUsage;
}

/** Where the main thread's and the process's CPU time stand now. */
export function cpuMark(): CpuMark {
  return { mainMs: taskCpuMs(String(process.pid))?.ms ?? 0, process: process.cpuUsage() };
}

/**
 * CPU µs per event since `from`, of the main thread and of the whole process (every thread). On a
 * shared VM the same work costs more CPU in a slow minute, but much less than it costs in events/s.
 */
export function cpuPerEvent(from: CpuMark, events: number): { mainUs: number; processUs: number } {
  const now = cpuMark();
  const process = now.process.user - from.process.user + (now.process.system - from.process.system);
  return { mainUs: ((now.mainMs - from.mainMs) * 1000) / events, processUs: process / events };
}
