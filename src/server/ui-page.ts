// /ui: one self-contained page — its style and script inline, nothing loaded
// from anywhere but this stats port (the Content-Security-Policy says so to
// the browser too). It polls /jobs every second and /history every five, and
// shows each compile slot, the jobs waiting, totals, and graphs of
// throughput and of jobs running and queued over the last ten minutes.
// Names that come from clients (files, compilers, addresses) are set as
// text (textContent), never as HTML, and escaped first with the daemon's own
// escapeLog (its source is part of the script): /jobs keeps them exact, and a
// newline, ESC or a bidi override in a file name must show as `\n`, `\x1b`,
// `\u202e`, not reorder or fake what the page shows.

import { createHash } from 'node:crypto';
import { ESCAPE_LOG_SOURCE } from '../logging/escape.js';

const STYLE = `
:root { color-scheme: light dark; --fg: #1d232a; --muted: #66707a; --bg: #f6f7f9; --card: #fff;
  --line: #d9dde2; --run: #2f7d32; --queue: #c77800; --rate: #2a62b8; --idle: #9aa3ad; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ed; --muted: #9aa3ad; --bg: #15191e;
  --card: #1e242b; --line: #333b44; --run: #6cc070; --queue: #f0a030; --rate: #6ea0f0; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; align-items: baseline; gap: 12px; padding: 12px 20px;
  border-bottom: 1px solid var(--line); background: var(--card); }
h1 { font-size: 18px; margin: 0; }
h2 { font-size: 14px; margin: 0 0 8px; text-transform: uppercase; letter-spacing: .05em;
  color: var(--muted); }
#meta { color: var(--muted); }
#live { margin-left: auto; font-weight: 600; }
#live.ok { color: var(--run); } #live.down { color: #c62828; }
main { padding: 16px 20px; display: grid; gap: 16px; max-width: 1200px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; }
/* Each tile as wide as its text (one line each), as many to a row as fit. */
#tiles { display: flex; flex-wrap: wrap; gap: 12px 20px; }
.tile { flex: 1 0 auto; min-width: 100px; white-space: nowrap; }
.tile .v { font-size: 22px; font-weight: 600; } .tile .k { color: var(--muted); font-size: 12px; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 500; font-size: 12px; }
td.input { font-family: ui-monospace, monospace; overflow: hidden; text-overflow: ellipsis; max-width: 360px; }
tr.idle td { color: var(--idle); }
.phase { display: inline-block; min-width: 64px; padding: 0 6px; border-radius: 3px; font-size: 12px;
  text-align: center; color: #fff; background: var(--idle); }
.phase.compile { background: var(--run); } .phase.queued { background: var(--queue); }
.phase.receive, .phase.send { background: var(--rate); }
.legend { display: flex; gap: 14px; font-size: 12px; color: var(--muted); margin-bottom: 4px; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; }
canvas { width: 100%; height: 160px; display: block; }
.empty { color: var(--muted); }
`;

const SCRIPT = `
(function () {
'use strict';
var WINDOW_MS = 10 * 60 * 1000;
var jobs = null, history = null, lastOk = 0; // this page's, not window.history
// /jobs and /history beside /ui, also behind a proxy that adds a prefix.
var base = location.pathname.slice(0, Math.max(0, location.pathname.lastIndexOf('/ui'))) + '/';
${ESCAPE_LOG_SOURCE}
/** A name from a client (or null), as the page shows it. */
function shown(v, none) { return v === null || v === undefined ? none : escapeLog(String(v)); }
function $(id) { return document.getElementById(id); }
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
function secs(s) {
  if (s < 60) return s.toFixed(1) + ' s';
  return Math.floor(s / 60) + ' min ' + Math.floor(s % 60) + ' s';
}
function uptime(s) {
  if (s < 60) return Math.floor(s) + ' s';
  var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  return (d ? d + 'd ' : '') + (d || h ? h + 'h ' : '') + m + 'min';
}
function size(n) {
  var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : String(n)) + ' ' + u[i];
}
function who(j) { return j.client === null ? 'inetd' : shown(j.client + ':' + j.port, ''); }
async function getJson(path) {
  var r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
  return r.json();
}
function tile(k, v) {
  var t = el('div', 'tile');
  t.append(el('div', 'v', v), el('div', 'k', k));
  return t;
}
// How long a job has been in its phase, said as what it is doing.
var DOING = { receive: 'receiving', queued: 'waited', send: 'sending' };
function timeCell(j) {
  var doing = DOING[j.phase];
  return el('td', 'elapsed', (doing ? doing + ' ' : '') + secs(j.phaseElapsed));
}
function jobRow(j, slot) {
  var tr = el('tr', j ? '' : 'idle');
  tr.dataset.slot = String(slot);
  tr.append(el('td', 'slot', slot));
  if (!j) {
    tr.dataset.phase = 'idle';
    tr.append(el('td', '', 'idle'), el('td', 'input'), el('td'), el('td'), el('td'));
    return tr;
  }
  tr.dataset.phase = shown(j.phase, '');
  tr.dataset.jobId = String(j.id);
  tr.dataset.input = shown(j.input, '');
  var ph = el('td'); ph.append(el('span', 'phase ' + shown(j.phase, ''), shown(j.phase, '?')));
  tr.append(ph, el('td', 'input', shown(j.input || null, '?')),
    el('td', 'compiler', shown(j.compiler || null, '?')), el('td', 'client', who(j)),
    el('td', 'elapsed', secs(j.phaseElapsed)));
  return tr;
}
function waitRow(j) {
  var tr = el('tr');
  tr.dataset.jobId = String(j.id);
  tr.dataset.phase = shown(j.phase, '');
  tr.dataset.input = shown(j.input, '');
  var ph = el('td'); ph.append(el('span', 'phase ' + shown(j.phase, ''), shown(j.phase, '?')));
  tr.append(ph, el('td', 'input', shown(j.input || null, '?')),
    el('td', 'compiler', shown(j.compiler || null, '?')), el('td', 'client', who(j)), timeCell(j));
  return tr;
}
// Jobs answered in the minute up to sample i (or since the first sample, if
// that is less than a minute before): a count of jobs, never extrapolated, so
// six jobs in two seconds are 6, not 180 a minute.
function lastMinute(s, i) {
  var k = i;
  while (k > 0 && s[i].t - s[k - 1].t <= 60000) k--;
  return s[i].answered - s[k].answered;
}
function rate() {
  var s = history ? history.samples : [];
  return s.length ? lastMinute(s, s.length - 1) : 0;
}
function renderJobs() {
  var d = jobs, t = d.totals;
  $('meta').textContent = 'tsdistccd ' + d.server.version + ' · pid ' + d.server.pid +
    ' · up ' + uptime(d.server.uptime);
  var failed = t.COMPILE_ERROR + t.COMPILE_TIMEOUT;
  var refused = t.REJ_BAD_REQ + t.REJ_OVERLOAD + t.OTHER + t.CLI_DISCONN;
  $('tiles').replaceChildren(
    tile('running / slots', d.running + ' / ' + d.server.slots),
    tile('queued (limit ' + d.server.queueLimit + ')', d.queued),
    tile('jobs last minute', rate()),
    tile('compiled', t.COMPILE_OK),
    tile('failed', failed),
    tile('refused or dropped', refused),
    tile('received', size(t.bytesIn)),
    tile('sent', size(t.bytesOut)),
    tile('memory (RSS)', size(d.server.rss)));
  var bySlot = {}, waiting = [], top = d.server.slots - 1;
  d.jobs.forEach(function (j) {
    if (j.slot === null) { waiting.push(j); return; }
    bySlot[j.slot] = j;
    top = Math.max(top, j.slot);
  });
  var rows = [];
  for (var s = 0; s <= top; s++) rows.push(jobRow(bySlot[s], s));
  $('slots').replaceChildren.apply($('slots'), rows);
  $('waiting').replaceChildren.apply($('waiting'), waiting.map(waitRow));
  $('nowait').hidden = waiting.length > 0;
}
// Four grid steps of 1, 2 or 5 times a power of ten, at least 1: whole jobs.
function niceStep(v) {
  if (v <= 1) return 1;
  var p = Math.pow(10, Math.floor(Math.log10(v))), f = v / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}
function drawChart(canvas, series) {
  var dpr = window.devicePixelRatio || 1, w = canvas.clientWidth, h = canvas.clientHeight;
  canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr);
  var g = canvas.getContext('2d');
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  var L = 40, R = 10, T = 8, B = 20, pw = w - L - R, ph = h - T - B;
  var samples = history ? history.samples : [];
  var end = samples.length ? samples[samples.length - 1].t : Date.now(), start = end - WINDOW_MS;
  var max = 0;
  series.forEach(function (s) { s.points.forEach(function (p) { max = Math.max(max, p[1]); }); });
  var dataMax = max, step = niceStep(max / 4);
  max = 4 * step;
  g.font = '11px system-ui, sans-serif'; g.fillStyle = css('--muted'); g.strokeStyle = css('--line');
  g.lineWidth = 1; g.textAlign = 'right'; g.textBaseline = 'middle';
  // The axis, for whoever reads the page without seeing the canvas (and tests).
  canvas.dataset.dataMax = String(Math.round(dataMax * 100) / 100);
  canvas.dataset.ticks = [0, 1, 2, 3, 4].map(function (i) { return step * i; }).join(' ');
  for (var i = 0; i <= 4; i++) {
    var gy = Math.round(T + ph - ph * i / 4) + 0.5;
    g.beginPath(); g.moveTo(L, gy); g.lineTo(L + pw, gy); g.stroke();
    g.fillText(String(step * i), L - 6, gy);
  }
  g.textAlign = 'center'; g.textBaseline = 'top';
  for (var m = 0; m <= 10; m += 2) {
    g.fillText(m === 10 ? 'now' : '-' + (10 - m) + ' min', L + pw * m / 10, T + ph + 5);
  }
  function x(t) { return L + pw * (t - start) / WINDOW_MS; }
  function y(v) { return T + ph - ph * v / max; }
  series.forEach(function (s) {
    var pts = s.points.filter(function (p) { return p[0] >= start; });
    if (pts.length === 0) return;
    g.beginPath();
    pts.forEach(function (p, k) {
      if (k === 0) g.moveTo(x(p[0]), y(p[1]));
      else { g.lineTo(x(p[0]), y(pts[k - 1][1])); g.lineTo(x(p[0]), y(p[1])); }
    });
    g.strokeStyle = s.color; g.lineWidth = 2; g.stroke();
    if (s.fill) {
      g.lineTo(x(pts[pts.length - 1][0]), y(0)); g.lineTo(x(pts[0][0]), y(0)); g.closePath();
      g.globalAlpha = 0.18; g.fillStyle = s.color; g.fill(); g.globalAlpha = 1;
    }
  });
}
function renderHistory() {
  var s = history ? history.samples : [], perMin = [], running = [], queued = [];
  for (var i = 0; i < s.length; i++) {
    running.push([s[i].t, s[i].running]);
    queued.push([s[i].t, s[i].queued]);
    perMin.push([s[i].t, lastMinute(s, i)]);
  }
  drawChart($('rate'), [{ points: perMin, color: css('--rate'), fill: true }]);
  drawChart($('load'), [
    { points: queued, color: css('--queue'), fill: false },
    { points: running, color: css('--run'), fill: true }]);
}
function setLive(ok) {
  if (ok) lastOk = Date.now();
  var l = $('live');
  l.className = ok ? 'ok' : 'down';
  l.textContent = ok ? 'live' : 'no answer for ' + Math.round((Date.now() - lastOk) / 1000) + ' s';
}
async function pollJobs() {
  try { jobs = await getJson(base + 'jobs'); renderJobs(); setLive(true); } catch (e) { setLive(false); }
  setTimeout(pollJobs, 1000);
}
async function pollHistory() {
  try {
    history = await getJson(base + 'history'); renderHistory(); if (jobs) renderJobs();
  } catch (e) { /* pollJobs says so */ }
  setTimeout(pollHistory, 5000);
}
$('host').textContent = location.host;
document.title = 'tsdistccd on ' + location.host;
window.addEventListener('resize', renderHistory);
pollHistory();
pollJobs();
})();
`;

const BODY = `
<header><h1>tsdistccd <span id="host"></span></h1><span id="meta"></span><span id="live">…</span></header>
<main>
<section><div id="tiles"></div></section>
<section><h2>Compile slots</h2>
<table><thead><tr><th>slot</th><th>phase</th><th>input</th><th>compiler</th><th>client</th><th title="how long the job has held its slot">compile time</th></tr></thead>
<tbody id="slots"></tbody></table></section>
<section><h2>Receiving, queued, sending</h2>
<table><thead><tr><th>phase</th><th>input</th><th>compiler</th><th>client</th><th title="how long the job has been in its phase">time</th></tr></thead>
<tbody id="waiting"></tbody></table><p id="nowait" class="empty">none</p></section>
<section><h2>Throughput, last 10 minutes</h2>
<div class="legend"><span><i class="sw-rate"></i>jobs answered in the minute before each moment</span></div>
<canvas id="rate"></canvas></section>
<section><h2>Running and queued, last 10 minutes</h2>
<div class="legend"><span><i class="sw-run"></i>running (most at once)</span><span><i class="sw-queue"></i>queued (most at once)</span></div>
<canvas id="load"></canvas></section>
</main>
`;

const SWATCHES = `
.sw-rate { background: var(--rate); } .sw-run { background: var(--run); } .sw-queue { background: var(--queue); }
`;

const styleText = STYLE + SWATCHES;

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

/** The page's policy: its own inline style and script, requests to this port only. */
export const UI_CSP = [
  "default-src 'none'",
  `script-src ${sha256(SCRIPT)}`,
  `style-src ${sha256(styleText)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const UI_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tsdistccd</title><link rel="icon" href="data:,">
<style>${styleText}</style></head>
<body>${BODY}<script>${SCRIPT}</script></body></html>
`;
