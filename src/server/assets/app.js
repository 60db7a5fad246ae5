// trademl dashboard: polls the JSON API (fetch + setInterval) and renders jobs, models, coverage, the
// schedule and the new-symbol queue. No framework, no network access beyond this daemon. Everything
// from the API is inserted as text (textContent), never as HTML.
'use strict';

const REFRESH_MS = 2000;
const $ = (sel) => document.querySelector(sel);
let openJob = null;
let openModel = null;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c == null ? '' : String(c)));
  return e;
}

function svgEl(tag, attrs) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
}

function token() { return $('#token').value.trim(); }

async function api(method, path, body) {
  const opts = { method, headers: {} };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  if (method !== 'GET' && token()) opts.headers['Authorization'] = 'Bearer ' + token();
  const r = await fetch(path, opts);
  let data = null;
  try { data = await r.json(); } catch (e) { data = null; }
  if (!r.ok) {
    const msg = data && data.error ? data.error.message : r.status + ' ' + r.statusText;
    throw new Error(msg);
  }
  return data;
}

function message(text, kind) {
  const m = $('#message');
  m.textContent = text;
  m.className = 'message ' + (kind || 'info');
}

function fmtTime(t) { return t ? String(t).replace('T', ' ').replace('Z', '') : ''; }
function fmtAge(seconds) {
  if (seconds == null) return '';
  if (seconds < 3600) return Math.round(seconds / 60) + ' min';
  if (seconds < 172800) return (seconds / 3600).toFixed(1) + ' h';
  return (seconds / 86400).toFixed(1) + ' d';
}
function fmtNum(x, d) { return typeof x === 'number' && isFinite(x) ? x.toFixed(d == null ? 3 : d) : ''; }
function symbolsOf(o) {
  const s = o.symbols != null ? o.symbols : o.symbol;
  return Array.isArray(s) ? s.join(',') : (s || o.key || '');
}

function bar(pct) {
  const p = Math.max(0, Math.min(100, Number(pct) || 0));
  const inner = el('div');
  inner.style.width = p + '%';
  return el('span', {}, el('span', { class: 'bar', role: 'progressbar', 'aria-valuenow': p.toFixed(0) }, inner),
    el('span', { class: 'pct' }, p.toFixed(0) + '%'));
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

// ---- health ----
async function refreshHealth() {
  const h = $('#health');
  try {
    const r = await fetch('/health');
    const d = await r.json();
    const cls = d.status === 'ok' ? 'ok' : 'bad';
    h.replaceChildren(el('span', { class: cls }, d.status), ` · workers ${d.workers.busy}/${d.workers.total} busy · ` +
      `queue ${d.queue_depth} · heartbeat ${fmtNum(d.scheduler.heartbeat_age_seconds, 1)} s · ` +
      `last training ${d.last_successful_training ? fmtTime(d.last_successful_training) : 'never'}` +
      (d.live && d.live.state !== 'off' ? ` · live ${d.live.state}` + (d.live.last_tick_age_seconds != null ?
        `, last tick ${fmtNum(d.live.last_tick_age_seconds, 1)} s ago` : '') : ''));
  } catch (e) {
    h.replaceChildren(el('span', { class: 'bad' }, 'unreachable'), ' ' + e.message);
  }
}

// ---- jobs ----
async function cancelJob(id) {
  try {
    const d = await api('POST', `/api/training/jobs/${id}/cancel`);
    message(`job ${id}: ${d.status}`);
    refreshJobs();
  } catch (e) { message(`cancel job ${id}: ${e.message}`, 'error'); }
}

async function refreshJobs() {
  const d = await api('GET', '/api/training/jobs?limit=50');
  $('#jobs-total').textContent = `(${d.total} total)`;
  fill($('#jobs tbody'), d.jobs.map((j) => {
    const final = ['succeeded', 'failed', 'cancelled', 'timed_out'].includes(j.status);
    const tr = el('tr', { class: 'clickable', 'data-job': j.id, onclick: () => { openJob = j.id; refreshJobDetail(); } },
      el('td', {}, j.id), el('td', {}, j.kind + (j.mode ? ' ' + j.mode : '')), el('td', {}, symbolsOf(j)),
      el('td', {}, j.interval || ''), el('td', { class: 'status-' + j.status }, j.status),
      el('td', {}, bar(j.progress)), el('td', {}, j.stage || ''),
      el('td', {}, `${j.attempts || 0}/${j.max_attempts || ''}`), el('td', {}, fmtTime(j.created_at || j.created)),
      el('td', {}, final ? '' : el('button', { onclick: (ev) => { ev.stopPropagation(); cancelJob(j.id); } }, 'Cancel')));
    return tr;
  }));
  if (openJob) refreshJobDetail();
}

function foldTable(folds) {
  if (!folds.length) return el('p', {}, 'No fold metrics yet.');
  const keys = [];
  for (const f of folds) for (const k of Object.keys(f.metrics || {})) if (!keys.includes(k) && keys.length < 6) keys.push(k);
  return el('table', {}, el('tr', {}, el('th', {}, 'fold'), ...keys.map((k) => el('th', {}, k))),
    ...folds.map((f) => el('tr', {}, el('td', {}, f.fold), ...keys.map((k) => el('td', {}, fmtNum((f.metrics || {})[k]))))));
}

async function refreshJobDetail() {
  const box = $('#job-detail');
  try {
    const j = await api('GET', `/api/training/jobs/${openJob}`);
    box.hidden = false;
    box.replaceChildren(
      el('h3', {}, `Job ${j.id}: ${j.kind} ${symbolsOf(j)} ${j.interval || ''} — ${j.status}`),
      el('p', {}, bar(j.progress), ' ', j.stage || '', j.error ? ' · error: ' + j.error : ''),
      el('h4', {}, 'Fold metrics'), foldTable(j.folds || []),
      el('h4', {}, 'Log'), el('pre', {}, (j.log_tail || []).slice(-40).join('\n')));
  } catch (e) { box.hidden = false; box.replaceChildren(el('p', { class: 'blocked' }, e.message)); }
}

// ---- models ----
async function activate(id) {
  try {
    await api('POST', `/api/models/${id}/activate`);
    message(`model ${id} is now active`);
    refreshModels();
  } catch (e) { message(`activate model ${id}: ${e.message}`, 'error'); }
}

async function refreshModels() {
  const d = await api('GET', '/api/models');
  fill($('#models tbody'), d.models.map((m) => el('tr', { class: 'clickable', 'data-model': m.id,
    onclick: () => { openModel = m.id; showModel(); } },
  el('td', {}, m.id), el('td', {}, symbolsOf(m)), el('td', {}, m.interval || ''), el('td', {}, m.version || ''),
  el('td', { class: m.active ? 'yes' : '' }, m.active ? 'active' : ''), el('td', {}, fmtAge(m.age_seconds)),
  el('td', {}, (m.metric ? m.metric + ' ' : '') + fmtNum(m.score)),
  el('td', {}, m.has_report ? (m.gates_passed ? 'passed' : 'failed') : '—'),
  el('td', {}, m.active ? '' : el('button', { onclick: (ev) => { ev.stopPropagation(); activate(m.id); } }, 'Activate')))));
}

// Line chart of one or more series (arrays of numbers) in an SVG.
function lineChart(series, labels, w, h) {
  const svg = svgEl('svg', { class: 'chart', width: w, height: h, viewBox: `0 0 ${w} ${h}` });
  const all = series.flat().filter((x) => typeof x === 'number' && isFinite(x));
  if (!all.length) return svg;
  const lo = Math.min(...all), hi = Math.max(...all), n = Math.max(...series.map((s) => s.length));
  const x = (i) => 30 + (i * (w - 40)) / Math.max(1, n - 1);
  const y = (v) => h - 15 - ((v - lo) * (h - 30)) / (hi - lo || 1);
  const colors = ['#2563eb', '#f59e0b'];
  series.forEach((s, k) => {
    const pts = s.map((v, i) => (typeof v === 'number' ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : null)).filter(Boolean);
    svg.append(svgEl('polyline', { points: pts.join(' '), fill: 'none', stroke: colors[k % 2], 'stroke-width': 1.5 }));
  });
  const t1 = svgEl('text', { x: 2, y: 12 }); t1.textContent = fmtNum(hi, 2); svg.append(t1);
  const t2 = svgEl('text', { x: 2, y: h - 4 }); t2.textContent = fmtNum(lo, 2); svg.append(t2);
  if (labels) { const t3 = svgEl('text', { x: 30, y: 12 }); t3.textContent = labels; svg.append(t3); }
  return svg;
}

// Bars of a fold metric for the model and the do-nothing baseline.
function foldBars(folds, metric, w, h) {
  const svg = svgEl('svg', { class: 'chart', width: w, height: h, viewBox: `0 0 ${w} ${h}` });
  const vals = folds.flatMap((f) => [(f.metrics || {})[metric], (f.baseline || {})[metric]]).filter((v) => typeof v === 'number');
  const hi = Math.max(1e-9, ...vals.map(Math.abs));
  const bw = (w - 20) / Math.max(1, folds.length) / 2.5;
  folds.forEach((f, i) => {
    [(f.metrics || {})[metric], (f.baseline || {})[metric]].forEach((v, k) => {
      if (typeof v !== 'number') return;
      const bh = (Math.abs(v) / hi) * (h - 25);
      svg.append(svgEl('rect', { x: 10 + i * bw * 2.5 + k * bw, y: h - 12 - bh, width: bw - 1, height: bh,
        fill: k ? '#f59e0b' : '#2563eb' }));
    });
    const t = svgEl('text', { x: 10 + i * bw * 2.5, y: h - 1 }); t.textContent = String(f.fold); svg.append(t);
  });
  const t = svgEl('text', { x: 10, y: 10 }); t.textContent = metric; svg.append(t);
  return svg;
}

async function showModel() {
  const box = $('#model-detail');
  try {
    const m = await api('GET', `/api/models/${openModel}`);
    const parts = [el('h3', {}, `Model ${m.id}: ${symbolsOf(m)} ${m.interval || ''} ${m.version || ''}`),
      el('p', {}, m.status_reason || '')];
    const heads = (m.metadata && m.metadata.heads) || {};
    const rows = Object.entries(heads).map(([name, h]) => el('tr', {}, el('td', {}, name),
      el('td', {}, Object.entries(h.metrics || {}).filter(([, v]) => typeof v === 'number').slice(0, 6)
        .map(([k, v]) => `${k} ${fmtNum(v)}`).join(' · '))));
    if (rows.length) parts.push(el('h4', {}, 'Metrics (hold-out)'), el('table', {}, ...rows));
    const rep = m.report;
    if (rep && Array.isArray(rep.folds) && rep.folds.length) {
      const names = Object.keys(rep.folds[0].metrics || {});
      const pick = ['direction.accuracy', 'direction.roc_auc', 'trading.profit_factor', 'trading.sharpe']
        .filter((k) => names.includes(k));
      const metrics = pick.length ? pick : names.slice(0, 2);
      parts.push(el('h4', {}, 'Walk-forward folds: model vs baseline'),
        el('div', { class: 'legend' }, el('span', { class: 'model' }, '■ model'), el('span', { class: 'base' }, '■ baseline')),
        ...metrics.map((k) => foldBars(rep.folds, k, 260, 120)));
    }
    if (rep && rep.equity && Array.isArray(rep.equity.signals)) {
      parts.push(el('h4', {}, 'Equity curve (% of notional): signals vs buy and hold'),
        lineChart([rep.equity.signals, rep.equity.buy_and_hold || []], '', 560, 160));
    }
    if (!rep) parts.push(el('p', {}, 'No walk-forward report for this version.'));
    box.hidden = false;
    box.replaceChildren(...parts);
  } catch (e) { box.hidden = false; box.replaceChildren(el('p', { class: 'blocked' }, e.message)); }
}

// ---- live loop ----
// Per symbol: state (with why), the newest prediction, and live quality beside the model's walk-forward
// out-of-sample figures. Drift (live log loss worse than out-of-sample by more than the configured
// margin) is flagged in red, in the row and in a banner above the table.
function headCell(p, head) {
  const h = p && p.predictions ? p.predictions[head] : null;
  if (!h) return el('td', {}, '');
  const pr = h.probabilities || {};
  return el('td', { 'data-head': head }, `${h.class} ${fmtNum(pr[h.class], 2)}`);
}

function qualityCell(y) {
  const parts = [];
  let worse = false;
  for (const head of ['direction', 'volatility', 'timing']) {
    const q = (y.quality || {})[head];
    if (!q || !q.n) continue;
    const d = typeof q.logloss === 'number' && typeof q.oos_logloss === 'number' ? q.logloss - q.oos_logloss : null;
    if (d != null && d > 0) worse = true;
    parts.push(el('div', {}, `${head}: ${fmtNum(q.logloss)} vs ${q.oos_logloss == null ? 'n/a' : fmtNum(q.oos_logloss)}`,
      d == null ? '' : el('span', { class: d > 0 ? 'worse' : 'better' }, ` (${d > 0 ? '+' : ''}${fmtNum(d)})`),
      ` · acc ${fmtNum(q.accuracy, 2)} vs ${q.oos_accuracy == null ? 'n/a' : fmtNum(q.oos_accuracy, 2)} · n=${q.n}`));
  }
  const td = el('td', { class: worse ? 'quality worse-row' : 'quality' }, ...(parts.length ? parts : ['no resolved predictions yet']));
  return td;
}

async function refreshLive() {
  const h = await (await fetch('/health')).json();
  if (!h.live || !h.live.status_known) {
    $('#live-summary').textContent = '(no live loop: start one with `trademl serve --live` or `trademl live`)';
    fill($('#live tbody'), []);
    $('#live-drift').hidden = true;
    return;
  }
  const r = await fetch('/api/live');
  const d = await r.json();
  if (!r.ok) throw new Error(d && d.error ? d.error.message : 'live: HTTP ' + r.status);
  const s = d.status;
  const latest = await api('GET', `/api/predictions/latest?interval=${encodeURIComponent(s.interval)}`);
  const bySym = {};
  for (const p of latest.predictions) bySym[p.symbol] = p;
  const c = s.counters || {};
  const states = Object.entries(s.states || {}).filter(([, n]) => n).map(([k, n]) => `${n} ${k}`).join(', ');
  $('#live-summary').textContent = `(${s.running ? 'running' : 'stopped'}${d.in_process ? ' in this daemon' : ''}; ` +
    `${s.exchange || 'no exchange'} ${s.category || ''} ${s.interval}; ${states || 'no symbols'}; ` +
    `${c.predictions || 0} predictions, ${c.reloads || 0} reloads, ${c.exchange_errors || 0} exchange errors, ` +
    `lag ${fmtNum(c.tick_lag_s, 1)} s)`;
  const drifting = s.symbols.filter((y) => y.state === 'drift');
  const banner = $('#live-drift');
  banner.hidden = !drifting.length;
  banner.textContent = drifting.length ? 'Drift: ' + drifting.map((y) => `${y.symbol} — ${y.reason}`).join('; ') +
    ' (retraining submitted)' : '';
  fill($('#live tbody'), s.symbols.map((y) => {
    const p = bySym[y.symbol];
    const model = y.model ? `${y.model.version} (#${y.model.id})` : '—';
    return el('tr', { 'data-symbol': y.symbol, 'data-state': y.state, class: y.state === 'drift' ? 'drift' : '' },
      el('td', {}, y.symbol), el('td', {}, el('span', { class: 'state state-' + y.state }, y.state)),
      el('td', { class: 'reason' }, y.reason || ''),
      el('td', {}, fmtTime(y.since) + (y.next_check ? ' · ' + fmtTime(y.next_check) : '')), el('td', {}, model),
      el('td', { class: 'last-prediction' }, p ? fmtTime(p.candle_open_time) + (p.stale ? ' (stale model)' : '') : '—'),
      headCell(p, 'direction'), headCell(p, 'volatility'), headCell(p, 'timing'),
      el('td', {}, p ? `${fmtNum(p.predictions.stop_loss.value, 2)}% · ${fmtNum(p.predictions.position_size.value, 2)}` : ''),
      qualityCell(y));
  }));
}

// ---- coverage, schedule, queue ----
async function refreshCoverage() {
  const d = await api('GET', '/api/coverage');
  const reasons = Object.entries(d.blocked_by_reason || {}).map(([k, v]) => `${k} ${v}`).join(', ');
  $('#coverage-summary').textContent = `(${d.interval}; ${d.blocked} blocked${reasons ? ': ' + reasons : ''})`;
  fill($('#coverage tbody'), d.symbols.map((c) => el('tr', {}, el('td', {}, c.symbol),
    el('td', {}, fmtNum(c.history_days, 1)), el('td', {}, fmtNum(c.coverage_pct, 1)),
    el('td', {}, c.model_version || ''), el('td', { class: c.blocked ? 'blocked' : 'yes' }, c.verdict),
    el('td', {}, c.reason || ''))));
}

async function refreshSchedule() {
  const s = await api('GET', '/api/schedule');
  $('#schedule').replaceChildren(el('p', {}, `cron "${s.cron}" (${s.timezone}); rotation ` +
    (s.rotation.enabled ? `every ${s.rotation.retrain_frequency_days} d` : 'off') +
    `; new symbols ${s.auto_train_new_symbols ? 'trained automatically' : 'not trained automatically'}`),
  el('ul', {}, ...s.next_runs.map((t) => el('li', {}, 'next: ' + fmtTime(t)))));
  const q = await api('GET', '/api/queue');
  $('#queue').replaceChildren(...(q.queue.length ? q.queue.map((e) => el('li', {},
    `${e.symbol} (added ${fmtTime(e.added_at)}, ${e.attempts} attempts${e.last_error ? ', ' + e.last_error : ''})`))
    : [el('li', {}, 'empty')]));
}

async function refreshSymbols() {
  try {
    const d = await api('GET', '/api/symbols');
    const seen = new Set(d.series.map((s) => s.symbol));
    $('#symbol-list').replaceChildren(...[...seen].map((s) => el('option', { value: s })));
    if (!$('#start-symbol').value && d.series.length) {
      $('#start-symbol').value = d.series[0].symbol;
      $('#start-interval').value = d.series[0].interval;
    }
  } catch (e) { /* the form still works with typed symbols */ }
}

async function start(mode) {
  const body = { symbol: $('#start-symbol').value.trim(), timeframe: $('#start-interval').value.trim(), training_mode: mode };
  try {
    const d = await api('POST', '/api/training/start', body);
    message(`job ${d.job_id} ${d.existed ? 'already queued' : 'queued'}: ${mode} ${body.symbol}`);
    openJob = d.job_id;
    refreshJobs();
  } catch (e) { message(`start ${mode}: ${e.message}`, 'error'); }
}

async function refreshAll() {
  const tasks = [refreshHealth(), refreshLive(), refreshJobs(), refreshModels(), refreshCoverage(), refreshSchedule()];
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed && !$('#message').textContent) message('refresh: ' + failed.reason.message, 'error');
}

document.addEventListener('DOMContentLoaded', () => {
  $('#token').value = sessionStorage.getItem('trademl-token') || '';
  $('#token').addEventListener('change', () => sessionStorage.setItem('trademl-token', token()));
  for (const b of document.querySelectorAll('#start-form button')) b.addEventListener('click', () => start(b.dataset.mode));
  refreshSymbols();
  refreshAll();
  setInterval(refreshAll, REFRESH_MS);
});
