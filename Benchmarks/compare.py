#!/usr/bin/env python3
"""Reads the output of `make bench-compare` (alternating rounds of aimclr and PyTorch) and prints
the aimclr / PyTorch ratios of each round and their median."""
import json
import re
import statistics
import sys

text = open(sys.argv[1]).read()
ours = [(float(m.group(1)), float(m.group(2)), float(m.group(3)))
        for m in re.finditer(r"cpu: median ([0-9.]+) s/iteration.*peak RSS ([0-9.]+) GiB.*inference ([0-9.]+) samples/s", text)]
theirs = [json.loads(l) for l in text.splitlines() if l.startswith("{") and "pytorch" in l]
if not ours or len(ours) != len(theirs):
    sys.exit(f"{sys.argv[1]}: {len(ours)} aimclr and {len(theirs)} PyTorch results; expected one of each per round")
speedups, inference = [], []
for i, ((t, rss, inf), torch) in enumerate(zip(ours, theirs), 1):
    tt, ti, trss = torch["median_s"], torch["inference_samples_per_s"], torch["peak_rss_bytes"] / 2**30
    speedups.append(tt / t)
    inference.append(inf / ti)
    print(f"round {i}: iteration aimclr {t:.3f} s vs PyTorch {tt:.3f} s -> {tt / t:.2f}x faster; "
          f"inference {inf:.1f} vs {ti:.1f} samples/s -> {inf / ti:.2f}x; peak RSS {rss:.2f} vs {trss:.2f} GiB")
s, r = statistics.median(speedups), statistics.median(inference)
print(f"iteration: aimclr {s:.2f}x faster than PyTorch (median of {len(speedups)} rounds; aimclr takes {1 / s:.2f}x PyTorch's time)")
print(f"inference: aimclr {r:.2f}x PyTorch's samples/s (median of {len(inference)} rounds)")
