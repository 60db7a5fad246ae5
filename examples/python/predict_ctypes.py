#!/usr/bin/env python3
"""Predict with trademl from Python through the C ABI (libtrademl_predictor.so), standard library only.

    python3 predict_ctypes.py --lib build/libtrademl_predictor.so --home var --symbol BTCUSDT --interval 15m
    python3 predict_ctypes.py ... --push candles.csv --last 5   # push the last 5 rows of a CSV first

Prints the prediction for the newest candle as JSON (the five heads; floats printed exactly). A bot
does the same with each newly closed candle: push(open_ms, o, h, l, c, v), then latest().
See docs/abi.md for the functions and include/trademl_predictor.h for the authoritative contract.
"""
import argparse
import csv
import ctypes
import json
import sys

HEADS = 5
MAX_CLASSES = 8
READY, WARMING = 1, 0


class Result(ctypes.Structure):
    """struct tml_predictor_result (ABI version 1)."""
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("abi_version", ctypes.c_uint32),
        ("candle_open_ms", ctypes.c_int64),
        ("model_id", ctypes.c_int64),
        ("model_version", ctypes.c_char * 64),
        ("nclass", ctypes.c_int32 * HEADS),
        ("cls", ctypes.c_int32 * HEADS),
        ("proba", (ctypes.c_float * MAX_CLASSES) * HEADS),
        ("value", ctypes.c_float * HEADS),
    ]


class Predictor:
    """One symbol's predictor: the registry's active model, warmed from the stored candles."""

    def __init__(self, lib_path, home, symbol, interval, strategy=None):
        lib = ctypes.CDLL(lib_path)
        lib.tml_predictor_abi_version.restype = ctypes.c_int
        lib.tml_predictor_open.restype = ctypes.c_void_p
        lib.tml_predictor_open.argtypes = [ctypes.c_char_p] * 4
        lib.tml_predictor_push.restype = ctypes.c_int
        lib.tml_predictor_push.argtypes = [ctypes.c_void_p, ctypes.c_int64] + [ctypes.c_double] * 5
        lib.tml_predictor_latest.restype = ctypes.c_int
        lib.tml_predictor_latest.argtypes = [ctypes.c_void_p, ctypes.POINTER(Result)]
        lib.tml_predictor_last_error.restype = ctypes.c_char_p
        lib.tml_predictor_last_error.argtypes = [ctypes.c_void_p]
        lib.tml_predictor_head_name.restype = ctypes.c_char_p
        lib.tml_predictor_head_name.argtypes = [ctypes.c_int]
        lib.tml_predictor_class_name.restype = ctypes.c_char_p
        lib.tml_predictor_class_name.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.tml_predictor_close.restype = None
        lib.tml_predictor_close.argtypes = [ctypes.c_void_p]
        if lib.tml_predictor_abi_version() < 1:
            raise RuntimeError("libtrademl_predictor is older than ABI version 1")
        self.lib = lib
        enc = lambda s: s.encode() if s else None
        self.h = lib.tml_predictor_open(enc(home), enc(strategy), enc(symbol), enc(interval))
        if not self.h:
            raise MemoryError("tml_predictor_open: out of memory")
        err = self.error()
        if err:
            self.close()
            raise RuntimeError(err)

    def error(self):
        return self.lib.tml_predictor_last_error(self.h).decode()

    def push(self, open_ms, o, h, l, c, v):
        """Pushes one closed candle; True when a prediction for it is ready."""
        rc = self.lib.tml_predictor_push(self.h, open_ms, o, h, l, c, v)
        if rc < 0:
            raise ValueError(self.error())
        return rc == READY

    def latest(self):
        r = Result()
        r.struct_size = ctypes.sizeof(Result)
        rc = self.lib.tml_predictor_latest(self.h, ctypes.byref(r))
        if rc != 0:
            raise RuntimeError(self.error())
        heads = {}
        for h in range(HEADS):
            name = self.lib.tml_predictor_head_name(h).decode()
            if r.nclass[h] == 0:
                heads[name] = {"value": r.value[h]}
            else:
                cls = lambda k: self.lib.tml_predictor_class_name(h, k).decode()
                heads[name] = {"class": cls(r.cls[h]),
                               "probabilities": {cls(k): r.proba[h][k] for k in range(r.nclass[h])}}
        return {"candle_open_ms": r.candle_open_ms, "model_id": r.model_id,
                "model_version": r.model_version.decode(), "predictions": heads}

    def close(self):
        if self.h:
            self.lib.tml_predictor_close(self.h)
            self.h = None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib", required=True, help="path to libtrademl_predictor.so")
    ap.add_argument("--home", required=True, help="trademl state folder (like trademl --home)")
    ap.add_argument("--symbol", required=True)
    ap.add_argument("--interval", default=None, help="e.g. 15m (default: data.interval)")
    ap.add_argument("--strategy", default=None)
    ap.add_argument("--push", metavar="CSV", help="CSV open_time,open,high,low,close,volume to push from")
    ap.add_argument("--last", type=int, default=0, help="push the last N rows of --push")
    a = ap.parse_args()
    p = Predictor(a.lib, a.home, a.symbol, a.interval, a.strategy)
    try:
        if a.push:
            with open(a.push, newline="") as f:
                rows = [r for r in csv.reader(f) if r and r[0].isdigit()]
            for r in rows[len(rows) - a.last:] if a.last else []:
                p.push(int(r[0]), *map(float, r[1:6]))
        print(json.dumps(p.latest()))
    except (RuntimeError, ValueError) as e:
        print("predict_ctypes: %s" % e, file=sys.stderr)
        return 1
    finally:
        p.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
