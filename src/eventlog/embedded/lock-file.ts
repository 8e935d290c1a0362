import { open, readFile, unlink } from 'node:fs/promises';
import { EventLogError } from '../event-log-error.js';

/** Data dirs this process holds, so that a second open in one process fails like one in another. */
const heldHere = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One process per data dir: two writers would assign the same offsets. The lock file holds the
 * owner's pid; a lock whose pid is gone (the owner was killed) is stale and taken over.
 */
export async function acquireLock(path: string): Promise<() => Promise<void>> {
  if (heldHere.has(path)) {
    throw new EventLogError('LOCKED', `the event log at ${path} is already open in this process; close it first or use another AEROFN_DATA_DIR`);
  }
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(`${process.pid}\n`);
      await fh.sync();
      await fh.close();
      heldHere.add(path);
      return async () => {
        heldHere.delete(path);
        await unlink(path).catch(() => undefined);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number.parseInt((await readFile(path, 'utf8').catch(() => '')).trim(), 10);
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
      throw new EventLogError('LOCKED', `the event log at ${path} is in use by process ${owner}; stop it or set another AEROFN_DATA_DIR (if that pid is not an aerofn process, delete ${path})`);
    }
    // Stale: its owner is gone (or the file is empty because the owner died while writing it).
    await unlink(path).catch(() => undefined);
  }
  throw new EventLogError('LOCKED', `could not take the lock ${path}; another process keeps recreating it`);
}
