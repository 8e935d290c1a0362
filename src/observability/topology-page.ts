import { createHash } from 'node:crypto';
import { topologyPageScript } from './topology-page-script.js';
import { topologyPageStyle } from './topology-page-style.js';

/**
 * The stream-topology monitoring page (`GET /topology`): one self-contained HTML document, its
 * CSS and script inline, so it works with no network and needs no static files in dist/. It reads
 * the same snapshots as `/topology.json` (docs/topology.md).
 */
export interface TopologyPage {
  readonly html: string;
  /**
   * Content-Security-Policy for the page: only its own inline script and style (by hash), and
   * requests to its own origin. A topic name with markup in it could never run as script.
   */
  readonly contentSecurityPolicy: string;
}

const hash = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

function buildPage(): TopologyPage {
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>AeroDB Functions · stream topology</title>
<link rel="icon" href="data:,">
<style>${topologyPageStyle}</style>
</head>
<body data-connection="connecting">
<header>
  <h1>AeroDB Functions · stream topology</h1>
  <span class="meta">pipeline <b id="state">?</b></span>
  <span class="meta">mode <b id="mode">?</b></span>
  <span class="meta">group <b id="group">?</b></span>
  <span class="meta">total lag <b id="total-lag">–</b></span>
  <span class="meta">snapshot <b id="captured">–</b> (<span id="age">never</span>)</span>
  <span id="connection" class="badge" data-state="connecting" role="status" aria-live="polite">connecting</span>
</header>
<div id="banner" role="alert"></div>
<main>
  <section class="wide" id="graph">
    <h2>Graph <span class="meta">(sources → processors → sinks; rates are events in per second between snapshots)</span></h2>
    <p id="empty" hidden>The stream processor is not running in this instance: there is no topology to show.</p>
    <div id="graph-body"></div>
    <div class="legend"><span><i></i>idle</span><span><i class="flow"></i>events flowing / in flight</span><span><i class="warn"></i>errors so far, or consumer lag</span><span><i class="bad"></i>errors in the last interval, or lag ≥ threshold</span><span id="transport"></span></div>
  </section>
  <section class="wide scroll">
    <h2>Nodes</h2>
    <table>
      <thead><tr><th>node</th><th class="text">kind</th><th>in/s</th><th>out/s</th><th>in</th><th>out</th><th>errors</th><th>in-flight</th><th>p50 ms</th><th>p99 ms</th></tr></thead>
      <tbody id="nodes-body"></tbody>
    </table>
  </section>
  <section>
    <h2>Consumer lag per partition <span class="meta">(total <b id="lag-total">–</b>)</span></h2>
    <table>
      <thead><tr><th>topic</th><th>partition</th><th>lag</th></tr></thead>
      <tbody id="lag-body"></tbody>
    </table>
  </section>
  <section class="scroll">
    <h2>Description <span class="meta">(as Kafka Streams' Topology#describe() prints it)</span></h2>
    <pre id="description"></pre>
  </section>
</main>
<script>${topologyPageScript}</script>
</body>
</html>
`;
  const contentSecurityPolicy = [
    "default-src 'none'",
    `script-src ${hash(topologyPageScript)}`,
    `style-src ${hash(topologyPageStyle)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, contentSecurityPolicy };
}

let page: TopologyPage | undefined;

/** Built once, on first use: the page never changes while the process runs. */
export function topologyPage(): TopologyPage {
  return (page ??= buildPage());
}
