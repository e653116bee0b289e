/**
 * The cluster page at `/`: the members (running, stopped, partitioned), the overlay's links drawn
 * on a circle, and the last membership events, refreshed from `/api/v1/cluster` by a small script
 * served from `/page.js`. Plain HTML, nothing fetched from anywhere but this listener.
 */

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function clusterPage(node: string, refreshMs: number): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Muster: ${escape(node)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; margin: 0 0 .2em; }
#summary { color: #555; margin-bottom: 1em; }
.cols { display: flex; gap: 2em; flex-wrap: wrap; align-items: flex-start; }
table { border-collapse: collapse; }
th, td { text-align: left; padding: .2em .8em .2em 0; border-bottom: 1px solid #eee; }
tr[data-status="running"] .state { color: #137333; }
tr[data-status="stopped"] .state { color: #b3261e; font-weight: bold; }
tr[data-partitioned="true"] .state { color: #8a4b00; }
#events li { margin: .1em 0; }
#error { color: #b3261e; }
svg line { stroke: #999; }
svg circle.running { fill: #137333; }
svg circle.stopped { fill: #b3261e; }
</style>
</head>
<body data-node="${escape(node)}" data-refresh-ms="${refreshMs}">
<h1>Cluster of ${escape(node)}</h1>
<div id="summary">loading...</div>
<div id="error"></div>
<div class="cols">
<table id="members"><thead><tr><th>node</th><th>state</th><th>role</th><th>incarnation</th><th>link</th><th>last heard</th></tr></thead><tbody></tbody></table>
<svg id="overlay" width="320" height="320" viewBox="-160 -160 320 320" role="img" aria-label="links between members"></svg>
</div>
<h2>Last membership events</h2>
<ol id="events" reversed></ol>
<script src="/page.js"></script>
</body>
</html>
`;
}

/** The page's script: plain browser JavaScript, no build step, no library. */
export const PAGE_SCRIPT = `'use strict';
(function () {
  var refreshMs = Number(document.body.dataset.refreshMs) || 1000;
  var svgNs = 'http://www.w3.org/2000/svg';
  function el(tag, text, attrs) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    return e;
  }
  function ago(iso) {
    if (!iso) return '-';
    var s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
    return s < 1 ? 'now' : s < 90 ? Math.round(s) + ' s ago' : Math.round(s / 60) + ' min ago';
  }
  function render(v) {
    document.getElementById('summary').textContent = 'cluster ' + v.cluster_name + ' (' + v.cluster_id + '): ' +
      v.running_nodes.length + ' running, ' + v.stopped_nodes.length + ' stopped; discovery ' + v.discovery_strategy +
      '; a stopped member shows within ' + v.timings.stopped_after_ms + ' ms';
    var body = document.querySelector('#members tbody');
    body.replaceChildren();
    v.nodes.forEach(function (n) {
      var tr = el('tr', undefined, { 'data-node': n.name, 'data-status': n.status, 'data-partitioned': String(n.partitioned) });
      tr.append(el('td', n.name), el('td', n.partitioned ? n.status + ' (partitioned)' : n.status, { class: 'state' }), el('td', n.role),
        el('td', n.incarnation === undefined ? '-' : String(n.incarnation)), el('td', n.name === v.node ? 'this node' : n.linked ? 'up' : '-'), el('td', ago(n.last_heard)));
      body.append(tr);
    });
    var svg = document.getElementById('overlay');
    svg.replaceChildren();
    var pos = {};
    v.nodes.forEach(function (n, i) {
      var a = (2 * Math.PI * i) / v.nodes.length - Math.PI / 2;
      pos[n.name] = [130 * Math.cos(a), 130 * Math.sin(a)];
    });
    (v.links || []).forEach(function (l) {
      var a = pos[l[0]], b = pos[l[1]];
      if (!a || !b) return;
      var line = document.createElementNS(svgNs, 'line');
      line.setAttribute('x1', a[0]); line.setAttribute('y1', a[1]); line.setAttribute('x2', b[0]); line.setAttribute('y2', b[1]);
      svg.append(line);
    });
    v.nodes.forEach(function (n) {
      var c = document.createElementNS(svgNs, 'circle');
      c.setAttribute('cx', pos[n.name][0]); c.setAttribute('cy', pos[n.name][1]); c.setAttribute('r', 6);
      c.setAttribute('class', n.status);
      var t = document.createElementNS(svgNs, 'title');
      t.textContent = n.name + ': ' + n.status;
      c.append(t);
      svg.append(c);
    });
    var events = document.getElementById('events');
    events.replaceChildren();
    v.events.slice().reverse().forEach(function (e) {
      events.append(el('li', e.at + '  ' + e.node + ' ' + e.kind + (e.detail ? ': ' + e.detail : ''), { 'data-kind': e.kind }));
    });
  }
  function refresh() {
    fetch('/api/v1/cluster', { cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (v) { document.getElementById('error').textContent = ''; render(v); document.body.dataset.updated = new Date().toISOString(); })
      .catch(function (e) { document.getElementById('error').textContent = 'cannot reach the agent: ' + e.message; })
      .finally(function () { setTimeout(refresh, refreshMs); });
  }
  refresh();
})();
`;
