// Drives headless Chromium (Debian's /usr/bin/chromium through playwright-core) against a running
// trademl daemon: the dashboard loads without console errors, shows the job given on the command line,
// shows a job started through the API once the page is open, shows its progress advancing without a
// reload, and leaves a screenshot.
//
//   node dashboard.js --url http://127.0.0.1:PORT/ --start '{"symbol":...}' --out DIR [--chromium PATH]
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
