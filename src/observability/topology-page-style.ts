/** CSS of the topology page (inline, so the page needs no network and no static files in dist/). */
export const topologyPageStyle = String.raw`
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --panel: #ffffff; --ink: #1d2330; --muted: #5d6678; --line: #c9ced8;
  --node: #ffffff; --node-line: #8a93a6; --ok: #1f8f4e; --warn: #b8740a; --bad: #c62b2b; --flow: #2f6fd6;
  --warn-bg: #fff4df; --bad-bg: #fde8e8;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #14171d; --panel: #1c2029; --ink: #e4e7ee; --muted: #9aa3b5; --line: #394050;
    --node: #232835; --node-line: #6b7487; --warn-bg: #3a2d14; --bad-bg: #3d1c1c;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 16px; padding: 10px 20px; background: var(--panel); border-bottom: 1px solid var(--line); }
header h1 { font-size: 17px; margin: 0 12px 0 0; }
.meta { color: var(--muted); }
.meta b { color: var(--ink); font-weight: 600; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; border: 1px solid var(--line); font-size: 12px; }
#connection { margin-left: auto; font-weight: 600; }
#connection::before { content: ""; display: inline-block; width: 9px; height: 9px; border-radius: 50%; margin-right: 6px; background: var(--muted); }
#connection[data-state="live"]::before { background: var(--ok); }
#connection[data-state="stale"]::before { background: var(--warn); }
#connection[data-state="disconnected"]::before { background: var(--bad); }
#banner { display: none; padding: 8px 20px; background: var(--bad-bg); border-bottom: 1px solid var(--bad); }
body[data-connection="stale"] #banner { display: block; background: var(--warn-bg); border-color: var(--warn); }
body[data-connection="disconnected"] #banner { display: block; }
body[data-connection="disconnected"] main, body[data-connection="stale"] main { opacity: 0.55; }
main { padding: 14px 20px 28px; display: grid; gap: 14px; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; min-width: 0; }
section.wide { grid-column: 1 / -1; }
section.scroll { overflow-x: auto; }
h2 { font-size: 14px; margin: 0 0 8px; }
#graph svg { width: 100%; height: auto; display: block; }
#empty { color: var(--muted); }
.legend { color: var(--muted); font-size: 12px; margin-top: 6px; }
.legend span { margin-right: 14px; }
.legend i { display: inline-block; width: 10px; height: 10px; border: 2px solid var(--node-line); margin-right: 4px; vertical-align: -1px; }
.legend i.flow { border-color: var(--flow); } .legend i.warn { border-color: var(--warn); } .legend i.bad { border-color: var(--bad); }
.node rect { fill: var(--node); stroke: var(--node-line); stroke-width: 1.5; }
.node[data-kind="source"] rect { stroke-dasharray: none; stroke-width: 2.5; }
.node[data-kind="sink"] rect { stroke-width: 2.5; }
.node.busy rect { stroke: var(--flow); }
.node.warn rect { stroke: var(--warn); fill: var(--warn-bg); stroke-width: 2.5; }
.node.bad rect { stroke: var(--bad); fill: var(--bad-bg); stroke-width: 3; }
.node text { fill: var(--ink); font-size: 12px; }
.node .name { font-weight: 700; font-size: 13px; }
.node .kind { fill: var(--muted); font-size: 11px; }
.node .rate { font-size: 15px; font-weight: 600; fill: var(--flow); }
.edge { fill: none; stroke: var(--node-line); stroke-width: 1.5; }
.edge.active { stroke: var(--flow); stroke-width: 2.2; stroke-dasharray: 7 5; animation: flow 0.8s linear infinite; }
@keyframes flow { to { stroke-dashoffset: -12; } }
@media (prefers-reduced-motion: reduce) { .edge.active { animation: none; stroke-dasharray: none; } }
#arrow path { fill: var(--node-line); }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; font-size: 13px; }
th, td { text-align: right; padding: 3px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th:first-child, td:first-child, th.text, td.text { text-align: left; }
tr.warn td { background: var(--warn-bg); } tr.bad td { background: var(--bad-bg); }
pre { margin: 0; font: 12px/1.45 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; overflow: auto; max-height: 420px; }
@media (max-width: 900px) { main { grid-template-columns: minmax(0, 1fr); } }
`;
