// Scheduled every minute: logs the run and returns its timestamp. The payload is
// {timestamp, jobId, scheduledAt}; "now" comes from the host, so a replay sees the same time.
import { input, output, log, context, Value } from "../../assembly/index";
export { alloc } from "../../assembly/index";

export function handler(ptr: i32, len: i32): i64 {
  const tick = len > 0 ? input.json(ptr, len) : Value.object();
  const ctx = context();
  const scheduledAt = tick.get("scheduledAt");
  const timestamp = tick.get("timestamp");
  log.info("tick " + tick.getString("scheduledAt", "?")! + " (attempt " + ctx.attempt.toString() + ")");
  return output.json(
    Value.object()
      .set<Value>("timestamp", timestamp == null ? Value.integer(ctx.now) : timestamp)
      .set<Value>("scheduledAt", scheduledAt == null ? Value.null() : scheduledAt)
      .set<Value>("jobId", tick.get("jobId") == null ? Value.null() : tick.get("jobId")!)
      .set<i64>("now", ctx.now),
  );
}
