#!/usr/bin/env python3
"""PyTorch reference for `aimclr bench step`: the same ST-GCN/AimCLR model and training step,
written independently from the spec (docs: spec §2 and §4), timed the same way.

    python3 Benchmarks/pytorch_reference.py --batch 128 --iterations 5 --threads 2

Prints one table and one JSON line with the fields `aimclr bench step` prints: median/min/max
seconds per iteration, GFLOP/s, fraction of the CPU peak (when --peak-gflops is given), peak RSS,
and eval-mode inference samples/s. `--check-safetensors FILE` instead loads an aimclr checkpoint
into this model with strict name and shape checks (weights interchange).

glibc malloc tuning matters a lot for PyTorch on CPU; `make bench-compare` sets
GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736 and this script
reports whether it is set.
"""
import argparse
import json
import os
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

V = 25
NTU_EDGES = [(1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21), (10, 9), (11, 10),
             (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19), (22, 23),
             (23, 8), (24, 25), (25, 12)]
CENTER = 20


def spatial_adjacency():
    """(3, V, V) 'spatial' partition, hop distance capped at 1 (unreachable = inf), column-normalised."""
    inf = float("inf")
    hop = torch.full((V, V), inf)
    for i in range(V):
        hop[i, i] = 0
    for a, b in NTU_EDGES:
        hop[a - 1, b - 1] = 1
        hop[b - 1, a - 1] = 1
    binary = (hop <= 1).float()
    degree = binary.sum(0)
    norm = binary / degree  # column j divided by deg(j)
    A = torch.zeros(3, V, V)
    r = hop[:, CENTER]
    for i in range(V):
        for j in range(V):
            if hop[i, j] == 0:
                A[0, i, j] = norm[i, j]
            elif hop[i, j] == 1:
                if r[i] == r[j] or r[i] > r[j]:  # inf == inf counts as equal, as the reference
                    A[1, i, j] = norm[i, j]
                else:
                    A[2, i, j] = norm[i, j]
    return A


class GraphConv(nn.Module):
    def __init__(self, cin, cout, k=3):
        super().__init__()
        self.k = k
        self.conv = nn.Conv2d(cin, cout * k, kernel_size=(1, 1))

    def forward(self, x, A):
        n, _, t, v = x.shape
        z = self.conv(x).view(n, self.k, -1, t, v)
        return torch.einsum("nkctv,kvw->nctw", z, A).contiguous()


class Block(nn.Module):
    def __init__(self, cin, cout, stride, dropout, residual):
        super().__init__()
        self.gcn = GraphConv(cin, cout)
        self.tcn = nn.Sequential(nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                                 nn.Conv2d(cout, cout, (9, 1), (stride, 1), (4, 0)),
                                 nn.BatchNorm2d(cout), nn.Dropout(dropout, inplace=True))
        if not residual:
            self.residual = None
        elif cin == cout and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(nn.Conv2d(cin, cout, 1, (stride, 1)), nn.BatchNorm2d(cout))

    def forward(self, x, A):
        res = 0 if self.residual is None else self.residual(x)
        return F.relu(self.tcn(self.gcn(x, A)) + res)


class STGCN(nn.Module):
    def __init__(self, hidden=16, hidden_dim=256, dropout=0.5, head="projection", num_class=60, feature_dim=128):
        super().__init__()
        self.register_buffer("A", spatial_adjacency())
        self.data_bn = nn.BatchNorm1d(3 * V)
        h = hidden
        spec = [(3, h, 1, False), (h, h, 1, True), (h, h, 1, True), (h, h, 1, True), (h, 2 * h, 2, True),
                (2 * h, 2 * h, 1, True), (2 * h, 2 * h, 1, True), (2 * h, 4 * h, 2, True), (4 * h, 4 * h, 1, True),
                (4 * h, hidden_dim, 1, True)]
        self.st_gcn_networks = nn.ModuleList(
            Block(ci, co, s, 0.0 if i == 0 else dropout, res) for i, (ci, co, s, res) in enumerate(spec))
        self.edge_importance = nn.ParameterList(nn.Parameter(torch.ones(3, V, V)) for _ in spec)
        if head == "projection":
            self.fc = nn.Sequential(nn.Linear(hidden_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, feature_dim))
        else:
            self.fc = nn.Linear(hidden_dim, num_class)

    def features(self, x):
        n, c, t, v, m = x.shape
        x = x.permute(0, 4, 3, 1, 2).reshape(n * m, v * c, t)
        x = self.data_bn(x)
        x = x.view(n, m, v, c, t).permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)
        for block, importance in zip(self.st_gcn_networks, self.edge_importance):
            x = block(x, self.A * importance)
        return x

    def pool(self, f, persons):
        return f.mean(dim=(2, 3)).view(-1, persons, f.shape[1]).mean(dim=1)

    def forward(self, x, drop=False):
        f = self.features(x)
        out = self.fc(self.pool(f, x.shape[4]))
        if not drop:
            return out
        return out, self.fc(self.pool(eadm(f), x.shape[4]))


def eadm(f, threshold=0.7, lam=1e-4):
    """Energy-based attention drop with batch-global rescales; masks carry no gradient."""
    with torch.no_grad():
        n, c, t, v = f.shape
        d = (f - f.mean(dim=(2, 3), keepdim=True)) ** 2
        var = d.sum(dim=(2, 3), keepdim=True) / (t * v - 1)
        att = torch.sigmoid(d / (4 * (var + lam)) + 0.5)
        spatial = (att.mean(dim=(1, 2)) < threshold).float()  # (n, v)
        element = (att < threshold).float()
        s1 = spatial.numel() / spatial.sum().clamp(min=1)
        s2 = element.numel() / element.sum().clamp(min=1)
        scale = spatial[:, None, None, :] * element * s1 * s2
    return f * scale


def init_weights(module):
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Conv1d, nn.Linear)):
            nn.init.normal_(m.weight, 0, 0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1, 0.02)
            nn.init.zeros_(m.bias)


class AimCLR(nn.Module):
    def __init__(self, queue_size=32768, feature_dim=128, momentum=0.999, temperature=0.07, hidden=16):
        super().__init__()
        self.encoder_q = STGCN(hidden=hidden, feature_dim=feature_dim)
        self.encoder_k = STGCN(hidden=hidden, feature_dim=feature_dim)
        init_weights(self)
        for p in self.encoder_k.parameters():
            p.requires_grad = False
        self.m, self.t = momentum, temperature
        self.register_buffer("queue", F.normalize(torch.randn(feature_dim, queue_size), dim=0))
        self.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))

    def forward(self, xe, xq, xk, mining=False, topk=1):
        q = F.normalize(self.encoder_q(xq), dim=1)
        qe, qed = self.encoder_q(xe, drop=True)
        qe, qed = F.normalize(qe, dim=1), F.normalize(qed, dim=1)
        with torch.no_grad():
            for pk, pq in zip(self.encoder_k.parameters(), self.encoder_q.parameters()):
                pk.mul_(self.m).add_(pq.detach(), alpha=1 - self.m)
            k = F.normalize(self.encoder_k(xk), dim=1)
        queue = self.queue.clone().detach()

        def logits(x):
            return torch.cat([(x * k).sum(1, keepdim=True), x @ queue], dim=1) / self.t

        l, le, led = logits(q), logits(qe), logits(qed)
        p = F.softmax(l.detach(), dim=1)
        d3m = -(p * F.log_softmax(le, 1)).sum(1).mean() * 0.5 - (p * F.log_softmax(led, 1)).sum(1).mean() * 0.5
        if mining:
            mask = torch.zeros_like(l)
            mask[:, 0] = 1
            for sim in (q @ queue, qe @ queue, qed @ queue):
                mask.scatter_(1, sim.detach().topk(topk, dim=1).indices + 1, 1)
            contrastive = -((F.log_softmax(l, 1) * mask).sum(1) / mask.sum(1)).mean()
        else:
            contrastive = F.cross_entropy(l, torch.zeros(l.shape[0], dtype=torch.long, device=l.device))
        b = k.shape[0]
        ptr = int(self.queue_ptr)
        self.queue[:, ptr:ptr + b] = k.T
        self.queue_ptr[0] = (ptr + b) % self.queue.shape[1]
        return contrastive + d3m


def iteration_flops(batch, hidden=16, hidden_dim=256, frames=50):
    """Forward FLOPs of one view times 7 (q and extreme: forward + 2x backward; key: forward)."""
    h = hidden
    spec = [(3, h, 1, False), (h, h, 1, True), (h, h, 1, True), (h, h, 1, True), (h, 2 * h, 2, True),
            (2 * h, 2 * h, 1, True), (2 * h, 2 * h, 1, True), (2 * h, 4 * h, 2, True), (4 * h, 4 * h, 1, True),
            (4 * h, hidden_dim, 1, True)]
    t, flops = frames, 0
    for ci, co, s, res in spec:
        to = (t - 1) // s + 1
        flops += 2 * ci * 3 * co * t * V + 2 * 3 * co * t * V * V + 2 * co * co * 9 * to * V
        if res and not (ci == co and s == 1):
            flops += 2 * ci * co * to * V
        t = to
    return 7 * flops * batch * 2


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--queue-size", type=int, default=32768)
    ap.add_argument("--peak-gflops", type=float, default=0.0, help="CPU fp32 peak, for the fraction column")
    ap.add_argument("--inference-batches", type=int, default=5)
    ap.add_argument("--inference-only", action="store_true", help="time eval-mode inference only")
    ap.add_argument("--check-safetensors", help="load an aimclr pretraining checkpoint strictly and exit")
    ap.add_argument("--device", default="cpu", help="torch device: cpu or cuda")
    ap.add_argument("--fp32", action="store_true",
                    help="CUDA: no TF32 in cuDNN convolutions (PyTorch allows it there by default) or matmuls")
    args = ap.parse_args()
    if args.fp32:
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    tf32 = args.device != "cpu" and torch.backends.cudnn.allow_tf32
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    model = AimCLR(queue_size=args.queue_size)
    if args.check_safetensors:
        from safetensors.torch import load_file
        state = {k: v for k, v in load_file(args.check_safetensors).items() if not k.startswith("optimizer.")}
        model.load_state_dict(state, strict=True)
        print(f"loaded {len(state)} tensors from {args.check_safetensors} with strict=True")
        return

    device = torch.device(args.device)
    model = model.to(device)
    opt = torch.optim.SGD(model.encoder_q.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    shape = (args.batch, 3, 50, V, 2)
    views = [torch.randn(shape, device=device) * 0.3 for _ in range(3)]

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()
    model.train()
    times = []
    for i in range(0 if args.inference_only else args.warmup + args.iterations):
        start = time.perf_counter()
        loss = model(*views)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sync()
        if i >= args.warmup:
            times.append(time.perf_counter() - start)

    model.eval()
    encoder = model.encoder_q
    with torch.no_grad():
        encoder(views[0])
        sync()
        batch_seconds = []
        for _ in range(max(args.inference_batches, 1)):
            start = time.perf_counter()
            encoder.pool(encoder.features(views[0]), 2)
            sync()
            batch_seconds.append(time.perf_counter() - start)
        # The median batch, as `aimclr bench step` reports it.
        inference = args.batch / statistics.median(batch_seconds)

    if args.inference_only:
        print(f"pytorch inference: {inference:.1f} samples/s (median of {len(batch_seconds)} batches of {args.batch}), "
              f"peak RSS {peak_rss_bytes() / 2**30:.2f} GiB")
        return
    flops = iteration_flops(args.batch)
    median = statistics.median(times)
    row = {
        "device": f"pytorch-{args.device} ({torch.__version__}, {args.threads} threads{', TF32 convolutions' if tf32 else ''})",
        "batch": args.batch, "runs": len(times),
        "median_s": median, "min_s": min(times), "max_s": max(times),
        "gflops": flops / median / 1e9,
        "fraction_of_peak": (flops / median / 1e9 / args.peak_gflops) if args.peak_gflops else None,
        "peak_rss_bytes": peak_rss_bytes(),
        "inference_samples_per_s": inference,
        "glibc_tunables": os.environ.get("GLIBC_TUNABLES", ""),
    }
    print(f"pytorch step: median {median:.3f} s (min {min(times):.3f}, max {max(times):.3f}) over {len(times)} "
          f"iterations, {row['gflops']:.1f} GFLOP/s, peak RSS {row['peak_rss_bytes'] / 2**30:.2f} GiB, "
          f"inference {inference:.1f} samples/s, {'TF32 convolutions ' + ('on' if tf32 else 'off') + ', ' if args.device != 'cpu' else ''}GLIBC_TUNABLES={'set' if row['glibc_tunables'] else 'unset'}")
    print(json.dumps(row))


if __name__ == "__main__":
    main()
