/**
 * An elapsed-time line on stderr while a long call runs (a deploy uploads the module, then waits
 * for the registry to apply it). A unary gRPC call does not report bytes sent, so this shows
 * time, not a percentage. Silent when stderr is not a terminal, so scripts see clean output.
 */
export function startProgress(label: string, enabled: boolean): { done(): void } {
  if (!enabled || process.stderr.isTTY !== true) return { done() {} };
  const started = Date.now();
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let frame = 0;
  const draw = (): void => {
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    process.stderr.write(`\r${frames[frame++ % frames.length] ?? ''} ${label} ${seconds}s`);
  };
  // Only show it when the call is slow enough to wonder about.
  const timer = setInterval(draw, 100);
  let shown = false;
  const delay = setTimeout(() => (shown = true), 300);
  return {
    done() {
      clearInterval(timer);
      clearTimeout(delay);
      if (shown || frame > 0) process.stderr.write('\r\x1b[2K');
    },
  };
}

/**
 * A bar with a count on stderr for work whose size is known (`aerofn replay`): `update(done,
 * total)` redraws it, `done()` clears the line. Silent when stderr is not a terminal.
 */
export function startCountProgress(label: string, enabled: boolean): { update(done: number, total: number): void; done(): void } {
  if (!enabled || process.stderr.isTTY !== true) return { update() {}, done() {} };
  const width = 24;
  let drawn = false;
  return {
    update(done, total) {
      const filled = total === 0 ? width : Math.round((done / total) * width);
      process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total}`);
      drawn = true;
    },
    done() {
      if (drawn) process.stderr.write('\r\x1b[2K');
    },
  };
}
