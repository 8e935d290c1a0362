// AeroDB Functions guest SDK for AssemblyScript. An entry file re-exports `alloc` and exports
// `handler`:
//
//   import { input, output, Value } from "../../assembly/index";
//   export { alloc } from "../../assembly/index";
//   export function handler(ptr: i32, len: i32): i64 {
//     const name = input.json(ptr, len).getString("name", "world");
//     return output.json(Value.object().set<string>("message", "Hello, " + name! + "!"));
//   }
export { alloc, pack } from "./abi";
export { input, output } from "./io";
export { Kind, Value, parse, tryParse, stringify, quote } from "./json";
export { log, db, http, env, context, Context, QueryResult, FetchResponse } from "./host";
