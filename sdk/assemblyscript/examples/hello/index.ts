// HTTP example: {"name":"x"} → {"message":"Hello, x!"}.
import { input, output, log, Value } from "../../assembly/index";
export { alloc } from "../../assembly/index";

export function handler(ptr: i32, len: i32): i64 {
  const body = len > 0 ? input.json(ptr, len) : Value.object();
  const name = body.getString("name", "world")!;
  log.info("greeting " + name);
  return output.json(Value.object().set<string>("message", "Hello, " + name + "!"));
}
