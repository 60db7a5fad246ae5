#!/usr/bin/python3
"""The peer of the lstm strategy's training in PyTorch (Debian's python3-torch), for bench/bench_lstm.sh.

Reads the file `bench_lstm ... export=FILE` writes (the same raw feature matrix, fit/stop rows and
head targets the C fit uses) and trains the same network the same way:
  windows of the last SEQ rows (zero-padded at the front), features standardised with fit-row
  statistics; LSTM(layers, hidden, dropout between layers) -> dropout -> Linear(hidden, 12);
  loss = sum over the five heads of their mean loss (cross-entropy on 3/4/3 logits, squared error on
  the standardised stop_loss / position_size); Adam(lr); clip_grad_norm_(clip); batches of BATCH
  windows in a shuffled order each epoch; validation loss on the stop rows after every epoch, the
  best epoch kept. Forget-gate bias starts at 3 as in trademl (bias_ih; bias_hh 0).
Prints one JSON line like bench_lstm.

File format (native byte order): b"TMLLSTMX", u64 nrows, ncols, nfit, nstop; f32 X[nrows*ncols];
u64 rows[nfit+nstop]; f32 y[5][nfit+nstop] (NaN = unknown).
"""
import argparse
import json
import math
import struct
import sys
import time

import torch

HEAD_OFF = [0, 3, 7, 10, 11]
HEAD_W = [3, 4, 3, 1, 1]


def load(path):
    with open(path, "rb") as f:
        if f.read(8) != b"TMLLSTMX":
            sys.exit(f"{path}: not a bench_lstm export")
        nrows, ncols, nfit, nstop = struct.unpack("=4Q", f.read(32))
        data = f.read()
    n_x, n_r = nrows * ncols, nfit + nstop
    X = torch.frombuffer(bytearray(data[:4 * n_x]), dtype=torch.float32).reshape(nrows, ncols)
    rows = torch.frombuffer(bytearray(data[4 * n_x:4 * n_x + 8 * n_r]), dtype=torch.int64)
    y = torch.frombuffer(bytearray(data[4 * n_x + 8 * n_r:4 * n_x + 8 * n_r + 20 * n_r]),
                         dtype=torch.float32).reshape(5, n_r)
    return X, rows, y, nfit, nstop


class Net(torch.nn.Module):
    def __init__(self, ncols, hidden, layers, dropout):
        super().__init__()
        self.lstm = torch.nn.LSTM(ncols, hidden, num_layers=layers, dropout=dropout if layers > 1 else 0.0)
        self.drop = torch.nn.Dropout(dropout)
        self.head = torch.nn.Linear(hidden, 12)
        with torch.no_grad():
            for k in range(layers):
                getattr(self.lstm, f"bias_ih_l{k}").zero_()
                getattr(self.lstm, f"bias_hh_l{k}").zero_()
                getattr(self.lstm, f"bias_ih_l{k}")[hidden:2 * hidden] = 3.0

    def forward(self, x):  # x: T x B x ncols
        out, _ = self.lstm(x)
        return self.head(self.drop(out[-1]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("export")
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--patience", type=int, default=3)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    X, rows, y, nfit, nstop = load(a.export)
    fit = rows[:nfit]
    Xf = X[fit].double()
    mean = Xf.mean(dim=0)
    sd = Xf.std(dim=0, unbiased=False)
    inv = torch.where(sd > 1e-12, 1.0 / torch.where(sd > 1e-12, sd, torch.ones_like(sd)), torch.ones_like(sd))
    Xs = (X - mean.float()) * inv.float()
    Xs[~torch.isfinite(Xs)] = 0.0
    # one zero row at index nrows for padding
    Xs = torch.cat([Xs, torch.zeros(1, X.shape[1])])
    pad = X.shape[0]
    reg_mean, reg_sd = [], []
    for k in (3, 4):
        v = y[k][:nfit].double()
        v = v[torch.isfinite(v)]
        reg_mean.append(float(v.mean()) if v.numel() else 0.0)
        s = float(v.std(unbiased=False)) if v.numel() > 1 else 0.0
        reg_sd.append(s if s > 1e-12 else 1.0)
    ycls = []
    for h in range(3):
        v = y[h].clone()
        v[~torch.isfinite(v)] = -1
        ycls.append(v.long())
    yreg = [((y[3 + k] - reg_mean[k]) / reg_sd[k]).float() for k in range(2)]
    # window index matrix: entry i -> rows r-T+1..r (single symbol: consecutive), pad where < 0
    offs = torch.arange(-a.seq + 1, 1)
    win = rows[:, None] + offs[None, :]
    win[win < 0] = pad
    Xt = Xs.contiguous()
    net = Net(X.shape[1], a.hidden, a.layers, a.dropout)
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    ce = torch.nn.CrossEntropyLoss(ignore_index=-1, reduction="sum")

    def loss_of(out, idx):
        total = 0.0
        for h in range(3):
            t = ycls[h][idx]
            n = int((t >= 0).sum())
            if n:
                total = total + ce(out[:, HEAD_OFF[h]:HEAD_OFF[h] + HEAD_W[h]], t) / n
        for k in range(2):
            t = yreg[k][idx]
            m = torch.isfinite(t)
            n = int(m.sum())
            if n:
                d = out[:, HEAD_OFF[3 + k]][m] - t[m]
                total = total + (d * d).sum() / n
        return total

    def batch(idx):
        return Xt[win[idx]].transpose(0, 1).contiguous()  # T x B x ncols

    gen = torch.Generator().manual_seed(a.seed)
    best, best_epoch, bad, epochs_run = math.inf, -1, 0, 0
    t0 = time.monotonic()
    c0 = time.process_time()
    for epoch in range(a.epochs):
        net.train()
        order = torch.randperm(nfit, generator=gen)
        tl, nb = 0.0, 0
        for i in range(0, nfit, a.batch):
            idx = order[i:i + a.batch]
            opt.zero_grad()
            loss = loss_of(net(batch(idx)), idx)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), a.clip)
            opt.step()
            tl += float(loss)
            nb += 1
        net.eval()
        sums = None
        with torch.no_grad():
            # mean per head over all stop rows, summed (as trademl's evaluate)
            outs = []
            idx_all = torch.arange(nfit, nfit + nstop)
            for i in range(0, nstop, a.batch):
                outs.append(net(batch(idx_all[i:i + a.batch])))
            vl = float(loss_of(torch.cat(outs), idx_all))
        epochs_run = epoch + 1
        print(f"epoch {epoch + 1}/{a.epochs} train {tl / nb:.5f} valid {vl:.5f}", file=sys.stderr)
        if vl < best:
            best, best_epoch, bad = vl, epoch, 0
        else:
            bad += 1
        if bad >= a.patience:
            break
    fit_s = time.monotonic() - t0
    cpu_s = time.process_time() - c0
    print(json.dumps({"impl": "pytorch", "torch": torch.__version__, "threads": a.threads, "fit_s": round(fit_s, 3),
                      "cpu_s": round(cpu_s, 3), "epochs_run": epochs_run, "best_epoch": best_epoch + 1,
                      "best_valid_loss": round(best, 6)}))


if __name__ == "__main__":
    main()
