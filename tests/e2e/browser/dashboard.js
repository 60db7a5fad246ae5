// Drives headless Chromium (Debian's /usr/bin/chromium through playwright-core) against a running
// trademl daemon: the dashboard loads without console errors, shows the job given on the command line,
// shows a job started through the API once the page is open, shows its progress advancing without a
// reload, queues and cancels a job through its own form and button while a page of another origin
// cannot, and leaves a screenshot.
//
//   node dashboard.js --url http://127.0.0.1:PORT/ --start '{"symbol":...}' --out DIR [--chromium PATH]
//                     [--evil http://127.0.0.1:OTHER/]   (a page of another origin that tries to post)
//   node dashboard.js --url ... --out DIR --live ACTIVE_SYMBOL,BLOCKED_SYMBOL
//     (live panel: ACTIVE_SYMBOL shown active with its last prediction and five heads, BLOCKED_SYMBOL
//     shown blocked with its reason; no job is started)
//
// Exit 0 on success, 1 on a failed check (the message says which), 77 when Chromium is missing.
'use strict';
const fs = require('fs');
const path = require('path');

function arg(name, def) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}
const url = arg('url');
const startBody = arg('start');
const outDir = arg('out');
const exe = arg('chromium', '/usr/bin/chromium');
const timeoutMs = Number(arg('timeout', '120000'));
const live = arg('live');
if (!url || !(startBody || live) || !outDir) {
  console.error('usage: node dashboard.js --url URL (--start JSON | --live ACTIVE,BLOCKED) --out DIR');
  process.exit(2);
}
if (!fs.existsSync(exe)) {
  console.log(`SKIP: ${exe} is missing (apt-get install chromium)`);
  process.exit(77);
}
let chromium;
try {
  ({ chromium } = require('playwright-core'));
} catch (e) {
  console.log('SKIP: playwright-core is not installed (scripts/setup.sh --test)');
  process.exit(77);
}

function fail(msg) {
  console.error('FAIL: ' + msg);
  process.exitCode = 1;
}

async function jobStatus(id) {
  const r = await fetch(new URL(`/api/training/jobs/${id}`, url));
  return (await r.json()).status;
}

// Polls the page's message line (waitForFunction would evaluate a string, which the page's CSP forbids).
async function waitMessage(page, ok) {
  let t = '';
  for (const end = Date.now() + 10000; Date.now() < end; await page.waitForTimeout(100)) {
    t = (await page.textContent('#message')) || '';
    if (ok(t)) return t;
  }
  throw new Error('the page did not show the expected message; it shows: ' + t);
}

// The page's own POSTs (start through the form, cancel through the button) go through the daemon's
// cross-site checks; a page of another origin (--evil, served elsewhere on loopback) cannot cancel
// the same job, neither with a form post nor with a no-cors fetch.
async function pagePosts(context, page) {
  await page.fill('#start-symbol', 'BTCUSDT');
  await page.fill('#start-interval', '15m');
  await page.click('#start-form button[data-mode="quick"]');
  const msg = await waitMessage(page, (t) => /^job \d+ (already )?queued/.test(t));
  const id = Number(/^job (\d+)/.exec(msg)[1]);
  console.log(`ok - the page's form queued job ${id} (POST with a JSON body): ${msg}`);
  const evil = arg('evil');
  if (evil) {
    const other = await context.newPage();
    await other.goto(evil, { waitUntil: 'load' });
    const target = new URL(`/api/training/jobs/${id}/cancel`, url).href;
    const seen = [];
    other.on('response', (r) => { if (r.url() === target) seen.push(r.status()); });
    await other.evaluate((t) => fetch(t, { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' },
      body: 'x' }).catch(() => null), target);
    const nav = other.waitForNavigation({ timeout: 10000 });
    await other.evaluate((t) => {
      const f = document.createElement('form');
      f.method = 'POST'; f.action = t; f.enctype = 'text/plain';
      const i = document.createElement('input'); i.name = 'x'; i.value = '1'; f.append(i);
      document.body.append(f); f.submit();
    }, target);
    const resp = await nav;
    const st = await jobStatus(id);
    if (!resp || resp.status() !== 403) fail(`a form posted from ${evil} got ${resp && resp.status()}, expected 403`);
    else if (st === 'cancelled') fail(`a page of ${evil} cancelled job ${id}`);
    else console.log(`ok - a page of ${evil} cannot cancel job ${id}: form post ${resp.status()}, fetch ${seen.join(',') || 'opaque'}; job is ${st}`);
    await other.close();
  }
  const btn = `#jobs tbody tr[data-job="${id}"] button`;
  await page.waitForSelector(btn, { timeout: 10000 });
  await page.click(btn);
  await waitMessage(page, (t) => t.startsWith(`job ${id}:`) || t.startsWith(`cancel job ${id}:`));
  const cls = await page.getAttribute('#message', 'class');
  // A running job is stopped by its worker (SIGTERM, then SIGKILL after the grace period).
  let st = await jobStatus(id);
  for (const end = Date.now() + 20000; st !== 'cancelled' && Date.now() < end; st = await jobStatus(id))
    await page.waitForTimeout(200);
  if (/error/.test(cls) || st !== 'cancelled')
    fail(`the page's Cancel button did not cancel job ${id}: ${await page.textContent('#message')} (job ${st})`);
  else console.log(`ok - the page's Cancel button cancelled job ${id} (body-less POST): job is ${st}`);
}

// The live panel: one symbol active with its newest prediction, one blocked with its reason.
async function checkLive(page, [active, blocked]) {
  const rowA = `#live tbody tr[data-symbol="${active}"][data-state="active"]`;
  await page.waitForSelector(rowA, { timeout: 20000 });
  const last = (await page.textContent(`${rowA} td.last-prediction`)).trim();
  if (!/^\d{4}-\d\d-\d\d \d\d:\d\d/.test(last)) throw new Error(`${active}: no last prediction shown ('${last}')`);
  const dir = (await page.textContent(`${rowA} td[data-head=direction]`)).trim();
  if (!/^(down|neutral|up) 0\.\d\d$/.test(dir)) throw new Error(`${active}: direction cell '${dir}'`);
  console.log(`ok - live panel: ${active} active, last prediction ${last}, direction ${dir}`);
  const rowB = `#live tbody tr[data-symbol="${blocked}"][data-state="blocked"]`;
  await page.waitForSelector(rowB, { timeout: 20000 });
  const state = (await page.textContent(`${rowB} .state`)).trim();
  const reason = (await page.textContent(`${rowB} td.reason`)).trim();
  if (state !== 'blocked' || !/days of history .*blocked until enough history accumulates/.test(reason))
    throw new Error(`${blocked}: state '${state}', reason '${reason}'`);
  console.log(`ok - live panel: ${blocked} blocked: ${reason}`);
  const summary = (await page.textContent('#live-summary')).trim();
  if (!/running in this daemon/.test(summary)) throw new Error(`live summary: '${summary}'`);
  const shot = path.join(outDir, 'live.png');
  await page.screenshot({ path: shot, fullPage: true });
  console.log('screenshot: ' + shot);
}

(async () => {
  const userDataDir = fs.mkdtempSync(path.join(outDir, 'chromium-profile-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: exe,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const errors = [];
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') errors.push('console: ' + m.text()); });
  page.on('pageerror', (e) => errors.push('page error: ' + e.message));
  page.on('requestfailed', (r) => errors.push('request failed: ' + r.url() + ' ' + (r.failure() || {}).errorText));
  try {
    await page.goto(url, { waitUntil: 'load', timeout: 30000 });
    await page.waitForSelector('#health .ok', { timeout: 10000 });
    if (live) {
      await checkLive(page, live.split(','));
      return;
    }
    // Start the job through the API while the page is open: the page must pick it up by itself.
    const r = await fetch(new URL('/api/training/start', url), { method: 'POST',
      headers: { 'Content-Type': 'application/json' }, body: startBody });
    const started = await r.json();
    if (r.status !== 201) throw new Error(`start: HTTP ${r.status} ${JSON.stringify(started)}`);
    const jobId = started.job_id;
    console.log(`ok - started job ${jobId} through the API`);
    const row = `#jobs tbody tr[data-job="${jobId}"]`;
    await page.waitForSelector(row, { timeout: 30000 });
    console.log(`ok - the dashboard lists job ${jobId}`);
    const progress = async () => Number(await page.getAttribute(`${row} [role=progressbar]`, 'aria-valuenow'));
    const status = async () => (await page.textContent(`${row} td:nth-child(5)`)).trim();
    const first = await progress();
    const seen = [first];
    const deadline = Date.now() + timeoutMs;
    let advanced = false;
    // The page refreshes itself (no reload here): wait until the bar shows more than it first did.
    while (Date.now() < deadline) {
      await page.waitForTimeout(500);
      const p = await progress();
      if (p !== seen[seen.length - 1]) seen.push(p);
      if (p > first) { advanced = true; if (p >= 100 || (await status()) === 'succeeded') break; }
    }
    if (!advanced) fail(`progress of job ${jobId} did not advance (stayed at ${first}%)`);
    else console.log(`ok - progress advanced without a reload: ${seen.join('% -> ')}%`);
    await page.click(row);
    await page.waitForSelector('#job-detail h3', { timeout: 10000 });
    await pagePosts(context, page);
    const shot = path.join(outDir, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log('screenshot: ' + shot);
    const health = await page.textContent('#health');
    if (!/^ok/.test(health.trim())) fail('health line does not say ok: ' + health);
  } catch (e) {
    fail(e.message);
  } finally {
    if (errors.length) fail('console errors:\n  ' + errors.join('\n  '));
    else console.log('ok - no console errors');
    await context.close();
  }
})();
