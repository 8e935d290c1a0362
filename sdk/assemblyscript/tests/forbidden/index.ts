// Test-only entry that breaks the ABI the way real code does by accident: Math.random imports
// env.seed, and an extra export. The build check must refuse it (test/unit/sdk/sdk-probe.test.ts).
import { output, Value } from "../../assembly/index";
export { alloc } from "../../assembly/index";

export function handler(ptr: i32, len: i32): i64 {
  return output.json(Value.number(Math.random()));
}

export function extra(): i32 {
  return 1;
}
