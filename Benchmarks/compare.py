#!/usr/bin/env python3
"""Reads the output of `make bench-compare` and prints the aimclr / PyTorch ratios."""
import json
import re
import sys

text = open(sys.argv[1]).read()
ours = re.search(r"cpu: median ([0-9.]+) s/iteration.*inference ([0-9.]+) samples/s", text)
theirs = [json.loads(l) for l in text.splitlines() if l.startswith("{") and "pytorch" in l]
if not ours or not theirs:
    sys.exit("could not find both results in " + sys.argv[1])
t_ours, inf_ours = float(ours.group(1)), float(ours.group(2))
t_torch, inf_torch = theirs[-1]["median_s"], theirs[-1]["inference_samples_per_s"]
print(f"iteration: aimclr {t_ours:.3f} s vs PyTorch {t_torch:.3f} s -> {t_torch / t_ours:.2f}x faster "
      f"(aimclr takes {t_ours / t_torch:.2f}x PyTorch's time)")
print(f"inference: aimclr {inf_ours:.1f} vs PyTorch {inf_torch:.1f} samples/s -> {inf_ours / inf_torch:.2f}x")
