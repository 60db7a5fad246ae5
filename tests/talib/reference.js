#!/usr/bin/env node
// TA-Lib reference values for trademl's indicator tests (tests/unit/features/test_indicators.c).
// Usage: node reference.js INPUT.csv [MAX_ROWS] > OUT.csv
// INPUT: header line, then open_time,open,high,low,close,volume[,ignored...]
// OUTPUT: open_time plus the 23 columns of tml_indicators_compute, computed by TA-Lib's own C core
// (npm package `talib`), default compatibility, unstable periods 0. "NaN" where TA-Lib has no value.
'use strict';
const fs = require('fs');
const talib = require('talib');

const args = process.argv.slice(2);
if (args.length < 1) {
  process.stderr.write('usage: node reference.js INPUT.csv [MAX_ROWS]\n');
  process.exit(2);
}
const maxRows = args.length > 1 ? parseInt(args[1], 10) : Infinity;
const lines = fs.readFileSync(args[0], 'utf8').split('\n');
const t = [], open = [], high = [], low = [], close = [], volume = [];
for (let i = 1; i < lines.length && t.length < maxRows; i++) {
  const line = lines[i].trim();
  if (!line) continue;
  const f = line.split(',');
  t.push(f[0]);
  open.push(parseFloat(f[1]));
  high.push(parseFloat(f[2]));
  low.push(parseFloat(f[3]));
  close.push(parseFloat(f[4]));
  volume.push(parseFloat(f[5]));
}
const n = t.length;
const cols = [];  // [name, Float64Array]

function run(name, params, outputs) {
  const r = talib.execute(Object.assign({ name, startIdx: 0, endIdx: n - 1 }, params));
  if (r.error) throw new Error(name + ': ' + r.error);
  for (const [colName, outName] of outputs) {
    const col = new Float64Array(n).fill(NaN);
    const vals = r.result[outName];
    for (let i = 0; i < r.nbElement; i++) col[r.begIndex + i] = vals[i];
    cols.push([colName, col]);
  }
}
const hlc = { high, low, close };
const SMA = 0;
run('RSI', { inReal: close, optInTimePeriod: 14 }, [['RSI_14', 'outReal']]);
run('EMA', { inReal: close, optInTimePeriod: 20 }, [['EMA_20', 'outReal']]);
run('MACD', { inReal: close, optInFastPeriod: 12, optInSlowPeriod: 26, optInSignalPeriod: 9 },
    [['MACD_12_26_9', 'outMACD'], ['MACDSIGNAL_12_26_9', 'outMACDSignal'],
     ['MACDHIST_12_26_9', 'outMACDHist']]);
run('ATR', Object.assign({ optInTimePeriod: 14 }, hlc), [['ATR_14', 'outReal']]);
run('NATR', Object.assign({ optInTimePeriod: 14 }, hlc), [['NATR_14', 'outReal']]);
run('ADX', Object.assign({ optInTimePeriod: 14 }, hlc), [['ADX_14', 'outReal']]);
run('PLUS_DI', Object.assign({ optInTimePeriod: 14 }, hlc), [['PLUS_DI_14', 'outReal']]);
run('MINUS_DI', Object.assign({ optInTimePeriod: 14 }, hlc), [['MINUS_DI_14', 'outReal']]);
run('BBANDS', { inReal: close, optInTimePeriod: 20, optInNbDevUp: 2, optInNbDevDn: 2, optInMAType: SMA },
    [['BBANDS_UPPER_20_2', 'outRealUpperBand'], ['BBANDS_MIDDLE_20_2', 'outRealMiddleBand'],
     ['BBANDS_LOWER_20_2', 'outRealLowerBand']]);
run('STOCH', Object.assign({ optInFastK_Period: 14, optInSlowK_Period: 3, optInSlowK_MAType: SMA,
                             optInSlowD_Period: 3, optInSlowD_MAType: SMA }, hlc),
    [['STOCH_SLOWK_14_3_3', 'outSlowK'], ['STOCH_SLOWD_14_3_3', 'outSlowD']]);
run('WILLR', Object.assign({ optInTimePeriod: 14 }, hlc), [['WILLR_14', 'outReal']]);
run('CCI', Object.assign({ optInTimePeriod: 20 }, hlc), [['CCI_20', 'outReal']]);
run('MFI', Object.assign({ optInTimePeriod: 14, volume }, hlc), [['MFI_14', 'outReal']]);
run('OBV', { inReal: close, volume }, [['OBV', 'outReal']]);
run('ROC', { inReal: close, optInTimePeriod: 10 }, [['ROC_10', 'outReal']]);
run('MOM', { inReal: close, optInTimePeriod: 10 }, [['MOM_10', 'outReal']]);
run('SMA', { inReal: close, optInTimePeriod: 50 }, [['SMA_50', 'outReal']]);
run('TRANGE', hlc, [['TRANGE', 'outReal']]);

const out = [];
out.push(['open_time'].concat(cols.map((c) => c[0])).join(','));
for (let i = 0; i < n; i++) {
  const row = [t[i]];
  for (const c of cols) row.push(Number.isNaN(c[1][i]) ? 'NaN' : String(c[1][i]));
  out.push(row.join(','));
}
process.stdout.write(out.join('\n') + '\n');
