/**
 * The topology page's browser script, as text: inline in the page so that it survives the build
 * (tsc copies no assets to dist/) and works with no network. Plain DOM and SVG; every value from
 * the server goes in through textContent or an attribute, never as markup.
 *
 * It reads snapshots (the /topology.json shape) from the server-sent events of topology/stream,
 * or polls topology.json with `?mode=poll` (for proxies that buffer event streams). Rates are
 * counter deltas over the server's capturedAt clock, so a slow browser does not skew them.
 * Written without template literals: this whole text is one.
 */
export const topologyPageScript = String.raw`
(() => {
  'use strict';
  const SVG = 'http://www.w3.org/2000/svg';
  const params = new URLSearchParams(location.search);
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  const intervalMs = clamp(Math.round(Number(params.get('intervalMs')) || 1000), 100, 60000);
  const lagWarn = Math.max(1, Number(params.get('lagWarn')) || 1000);
  const mode = params.get('mode') === 'poll' ? 'poll' : 'stream';
  const staleAfterMs = Math.max(3000, 3 * intervalMs);
  const W = 176, H = 114, GAP_X = 58, GAP_Y = 22, PAD = 14;

  const $ = (id) => document.getElementById(id);
  const view = { previous: null, lastAt: 0, rates: new Map(), rising: new Map(), layoutKey: '', nodes: new Map(), edges: [] };
  let connection = 'connecting';

  // ---- formatting -------------------------------------------------------------------------
  const count = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : '–');
  // Node boxes are narrow: 12.3k and 4.5M there, the full number in the table and the tooltip.
  const compact = (n) => (typeof n !== 'number' ? '–' : n < 1000 ? String(n) : n < 1e6 ? (n / 1e3).toFixed(1) + 'k' : (n / 1e6).toFixed(1) + 'M');
  const rate = (r) => (r === null || r === undefined ? '–' : r < 10 ? r.toFixed(1) : Math.round(r).toLocaleString('en-US'));
  const ms = (v) => (v === null || v === undefined ? '–' : v < 1 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : String(Math.round(v)));
  const clip = (s, n) => (s.length > n ? s.slice(0, n - 1) + '…' : s);
  const el = (name, attrs, text) => {
    const node = name.startsWith('svg:') ? document.createElementNS(SVG, name.slice(4)) : document.createElement(name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  };

  // ---- connection state ---------------------------------------------------------------------
  function setConnection(state, message) {
    connection = state;
    const badge = $('connection');
    badge.dataset.state = state;
    badge.textContent = state;
    document.body.dataset.connection = state;
    const since = view.lastAt ? ' Last snapshot ' + new Date(view.lastAt).toLocaleTimeString() + '; the numbers shown are from then.' : '';
    $('banner').textContent = message ? message + since : '';
  }

  function tickClock() {
    if (view.lastAt) {
      const age = Date.now() - view.lastAt;
      $('age').textContent = (age / 1000).toFixed(age < 10000 ? 1 : 0) + ' s ago';
      if (connection === 'live' && age > staleAfterMs) setConnection('stale', 'No snapshot for ' + Math.round(age / 1000) + ' s: the server is slow or the stream stalled.');
    }
  }

  // ---- layout: columns by longest path from the sources, rows by the predecessors' rows ------
  function layout(nodes) {
    const byName = new Map(nodes.map((n) => [n.name, n]));
    const depth = new Map();
    const visiting = new Set();
    const depthOf = (name) => {
      if (depth.has(name)) return depth.get(name);
      if (visiting.has(name)) return 0;
      visiting.add(name);
      let d = 0;
      for (const p of byName.get(name).predecessors) if (byName.has(p)) d = Math.max(d, depthOf(p) + 1);
      visiting.delete(name);
      depth.set(name, d);
      return d;
    };
    nodes.forEach((n) => depthOf(n.name));
    const columns = [];
    nodes.forEach((n, i) => (columns[depth.get(n.name)] ||= []).push({ node: n, index: i }));
    const row = new Map();
    const kindOrder = { source: 0, processor: 1, sink: 2 };
    for (const column of columns) {
      if (!column) continue;
      const weight = (entry) => {
        const rows = entry.node.predecessors.filter((p) => row.has(p)).map((p) => row.get(p));
        return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : 0;
      };
      column.sort((a, b) => (kindOrder[a.node.kind] ?? 1) - (kindOrder[b.node.kind] ?? 1) || weight(a) - weight(b) || a.index - b.index);
      column.forEach((entry, r) => row.set(entry.node.name, r));
    }
    const tallest = Math.max(1, ...columns.map((c) => (c ? c.length : 0)));
    const positions = new Map();
    columns.forEach((column, c) => {
      if (!column) return;
      const offset = ((tallest - column.length) * (H + GAP_Y)) / 2;
      column.forEach((entry, r) => positions.set(entry.node.name, { x: PAD + c * (W + GAP_X), y: PAD + offset + r * (H + GAP_Y) }));
    });
    return { positions, width: PAD * 2 + columns.length * W + (columns.length - 1) * GAP_X, height: PAD * 2 + tallest * H + (tallest - 1) * GAP_Y };
  }

  function buildGraph(nodes) {
    const { positions, width, height } = layout(nodes);
    const svg = el('svg:svg', { viewBox: '0 0 ' + width + ' ' + height, role: 'img', 'aria-label': 'stream topology graph' });
    svg.style.maxWidth = width * 1.25 + 'px';
    const defs = el('svg:defs');
    const marker = el('svg:marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
    marker.append(el('svg:path', { d: 'M 0 0 L 10 5 L 0 10 z' }));
    defs.append(marker);
    svg.append(defs);
    view.nodes = new Map();
    view.edges = [];
    for (const n of nodes) {
      for (const s of n.successors) {
        const a = positions.get(n.name), b = positions.get(s);
        if (!a || !b) continue;
        const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x - 2, y2 = b.y + H / 2;
        const dx = Math.max(28, (x2 - x1) / 2);
        const path = el('svg:path', { class: 'edge', 'data-from': n.name, 'data-to': s, 'marker-end': 'url(#arrow)', d: 'M ' + x1 + ' ' + y1 + ' C ' + (x1 + dx) + ' ' + y1 + ', ' + (x2 - dx) + ' ' + y2 + ', ' + x2 + ' ' + y2 });
        path.append(el('svg:title', {}, n.name + ' → ' + s));
        svg.append(path);
        view.edges.push({ from: n.name, to: s, path });
      }
    }
    for (const n of nodes) {
      const p = positions.get(n.name);
      const g = el('svg:g', { class: 'node', 'data-node': n.name, 'data-kind': n.kind, transform: 'translate(' + p.x + ',' + p.y + ')' });
      g.append(el('svg:rect', { width: W, height: H, rx: n.kind === 'processor' ? 6 : 14 }));
      const line = (cls, y, text) => { const t = el('svg:text', { class: cls, x: 10, y }, text); g.append(t); return t; };
      line('name', 18, clip(n.name, 24));
      const where = n.topics && n.topics.length ? n.kind + ' · ' + n.topics.join(', ') : n.kind;
      line('kind', 33, clip(where, 30));
      const parts = { rate: line('rate', 55, '–'), counts: line('counts', 73, ''), flight: line('flight', 89, ''), latency: line('latency', 105, '') };
      const title = el('svg:title');
      g.append(title);
      svg.append(g);
      view.nodes.set(n.name, { g, title, ...parts });
    }
    const graph = $('graph-body');
    graph.replaceChildren(svg);
  }

  // ---- one snapshot ---------------------------------------------------------------------------
  function flatten(snapshot) {
    const d = snapshot && snapshot.description;
    if (!d || !Array.isArray(d.subTopologies)) return null;
    return { description: d, nodes: d.subTopologies.flatMap((s) => s.nodes), at: Date.parse(snapshot.capturedAt) };
  }

  function onSnapshot(snapshot) {
    view.lastAt = Date.now();
    setConnection('live', '');
    const flat = flatten(snapshot);
    $('captured').textContent = snapshot.capturedAt || '';
    if (!flat) {
      $('empty').hidden = false;
      $('graph-body').replaceChildren();
      $('description').textContent = '';
      view.layoutKey = '';
      return;
    }
    $('empty').hidden = true;
    const { description, nodes, at } = flat;
    const key = nodes.map((n) => n.name + '>' + n.successors.join(',')).join(';');
    if (key !== view.layoutKey) {
      buildGraph(nodes);
      view.layoutKey = key;
      view.previous = null;
    }
    const before = view.previous;
    const dt = before ? (at - before.at) / 1000 : 0;
    // A new stream gets a snapshot at once and then the shared ticker's, maybe a few ms apart:
    // measure rates over at least half an interval, keeping the older baseline until then.
    const tooSoon = before !== null && dt * 1000 < intervalMs / 2;
    for (const n of nodes) {
      if (tooSoon) break;
      const old = before && before.byName.get(n.name);
      if (old) {
        // A counter that went down means the server restarted: no rate for that step.
        view.rates.set(n.name, n.in >= old.in ? (n.in - old.in) / dt : null);
        view.rising.set(n.name, n.errors > old.errors);
        view.rates.set(n.name + '>out', n.out >= old.out ? (n.out - old.out) / dt : null);
      } else {
        view.rates.set(n.name, null);
        view.rising.set(n.name, false);
      }
    }
    if (!tooSoon) view.previous = { at, byName: new Map(nodes.map((n) => [n.name, n])) };

    const lag = Array.isArray(description.lag) ? description.lag : [];
    const totalLag = typeof description.totalLag === 'number' ? description.totalLag : 0;
    for (const n of nodes) renderNode(n, totalLag);
    for (const e of view.edges) {
      const from = view.rates.get(e.from + '>out'), to = view.rates.get(e.to);
      e.path.classList.toggle('active', !!from && !!to);
    }
    renderTable(nodes);
    renderLag(lag, totalLag);
    $('state').textContent = description.state || '?';
    $('mode').textContent = description.mode || '?';
    $('group').textContent = description.groupId || '?';
    $('total-lag').textContent = count(totalLag);
    if ($('description').textContent !== description.text) $('description').textContent = description.text || '';
  }

  function severity(n, totalLag) {
    if (view.rising.get(n.name)) return 'bad';
    if (n.kind === 'source' && totalLag >= lagWarn) return 'bad';
    if (n.errors > 0 || (n.kind === 'source' && totalLag > 0)) return 'warn';
    return '';
  }

  function renderNode(n, totalLag) {
    const v = view.nodes.get(n.name);
    if (!v) return;
    const r = view.rates.get(n.name);
    const level = severity(n, totalLag);
    v.g.setAttribute('class', 'node' + (level ? ' ' + level : '') + (n.inFlight > 0 || (r || 0) > 0 ? ' busy' : ''));
    v.g.dataset.in = String(n.in);
    v.g.dataset.out = String(n.out);
    v.g.dataset.errors = String(n.errors);
    v.g.dataset.inFlight = String(n.inFlight);
    v.g.dataset.rate = r === null || r === undefined ? '' : String(r);
    v.rate.textContent = rate(r) + ' ev/s';
    v.counts.textContent = 'in ' + compact(n.in) + ' · out ' + compact(n.out) + ' · err ' + compact(n.errors);
    v.flight.textContent = 'in flight ' + compact(n.inFlight) + (n.kind === 'source' ? ' · lag ' + compact(totalLag) : '');
    v.latency.textContent = 'p50 ' + ms(n.p50Ms) + ' · p99 ' + ms(n.p99Ms) + ' ms';
    v.title.textContent = n.name + ' (' + n.kind + ')\nin ' + n.in + ', out ' + n.out + ', errors ' + n.errors + ', in-flight ' + n.inFlight +
      '\np50 ' + ms(n.p50Ms) + ' ms, p99 ' + ms(n.p99Ms) + ' ms\n--> ' + (n.successors.join(', ') || '(none)') + '\n<-- ' + (n.predecessors.join(', ') || '(none)');
  }

  function renderTable(nodes) {
    const rows = nodes.map((n) => {
      const level = view.rising.get(n.name) ? 'bad' : n.errors > 0 ? 'warn' : '';
      const tr = el('tr', { 'data-node': n.name, class: level });
      const cells = [n.name, n.kind, rate(view.rates.get(n.name)), rate(view.rates.get(n.name + '>out')), count(n.in), count(n.out), count(n.errors), count(n.inFlight), ms(n.p50Ms), ms(n.p99Ms)];
      cells.forEach((c, i) => tr.append(el('td', i === 1 ? { class: 'text' } : {}, c)));
      return tr;
    });
    $('nodes-body').replaceChildren(...rows);
  }

  function renderLag(lag, totalLag) {
    const rows = lag.map((p) => {
      const tr = el('tr', { 'data-topic': p.topic, 'data-partition': p.partition, class: p.lag >= lagWarn ? 'bad' : p.lag > 0 ? 'warn' : '' });
      tr.append(el('td', {}, p.topic), el('td', {}, String(p.partition)), el('td', {}, count(p.lag)));
      return tr;
    });
    if (rows.length === 0) {
      const tr = el('tr');
      tr.append(el('td', { colspan: 3 }, 'no partitions assigned to this instance'));
      rows.push(tr);
    }
    $('lag-body').replaceChildren(...rows);
    $('lag-total').textContent = count(totalLag);
  }

  function onFailure(body) {
    const message = body && body.error && body.error.message ? body.error.message : 'the server could not take a snapshot';
    setConnection('stale', 'Server: ' + message + '.');
  }

  // ---- transports -----------------------------------------------------------------------------
  function stream() {
    const source = new EventSource('topology/stream?intervalMs=' + intervalMs);
    source.addEventListener('topology', (event) => onSnapshot(JSON.parse(event.data)));
    source.addEventListener('failure', (event) => onFailure(JSON.parse(event.data)));
    source.addEventListener('closing', () => setConnection('disconnected', 'The server is shutting down; reconnecting when it is back.'));
    source.onerror = () => {
      setConnection('disconnected', 'Disconnected from the server; retrying every ' + Math.max(1, intervalMs / 1000) + ' s.');
      // EventSource retries by itself after a network error, but gives up for good on an HTTP
      // error status (a 503 while the server starts or drains): start a new one then.
      if (source.readyState === EventSource.CLOSED) setTimeout(stream, Math.max(1000, intervalMs));
    };
  }

  async function poll() {
    try {
      const response = await fetch('topology.json', { cache: 'no-store', signal: AbortSignal.timeout(Math.max(2000, 2 * intervalMs)) });
      if (!response.ok) throw new Error('HTTP ' + response.status);
      onSnapshot(await response.json());
    } catch (error) {
      setConnection('disconnected', 'Cannot reach the server (' + (error && error.message ? error.message : error) + '); retrying every ' + Math.max(1, intervalMs / 1000) + ' s.');
    }
    setTimeout(poll, intervalMs);
  }

  $('transport').textContent = mode === 'poll' ? 'polling topology.json every ' + intervalMs + ' ms' : 'server-sent events, every ' + intervalMs + ' ms';
  setConnection('connecting', '');
  setInterval(tickClock, 250);
  if (mode === 'poll') void poll(); else stream();
})();
`;
