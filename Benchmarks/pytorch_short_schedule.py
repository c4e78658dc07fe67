"""The demo's short pretraining schedule in the independent PyTorch implementation, on the synthetic
dataset with crop + shear views, to see whether the collapse the demo shows is the method's own
behaviour at this scale.

    python3 Benchmarks/pytorch_short_schedule.py LR KEY_MOMENTUM QUEUE ITERATIONS [DATA.npy]
    python3 Benchmarks/pytorch_short_schedule.py 0.05 0.99 256 96 data/synthetic/train_position.npy
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_reference as r
torch.manual_seed(0); torch.set_num_threads(1)
x = np.load(sys.argv[5] if len(sys.argv) > 5 else 'data/synthetic/train_position.npy')
rng = np.random.RandomState(0)
def normal_view(s):
    pad = 8
    seq = np.concatenate([s[:, :pad][:, ::-1], s, s[:, -pad:][:, ::-1]], axis=1)
    st = rng.randint(0, 17); v = seq[:, st:st+50]
    a = rng.uniform(-0.5, 0.5, 6); R = np.array([[1, a[0], a[3]], [a[1], 1, a[4]], [a[2], a[5], 1]])
    return np.einsum('ij,jtvm->itvm', R, v)
model = r.AimCLR(queue_size=int(sys.argv[3]), feature_dim=64, momentum=float(sys.argv[2]), hidden=8)
opt = torch.optim.SGD(model.encoder_q.parameters(), lr=float(sys.argv[1]), momentum=0.9, weight_decay=1e-4)
model.train()
for it in range(int(sys.argv[4])):
    idx = rng.choice(len(x), 32, replace=False)
    xq = torch.tensor(np.stack([normal_view(x[i]) for i in idx]), dtype=torch.float32)
    xk = torch.tensor(np.stack([normal_view(x[i]) for i in idx]), dtype=torch.float32)
    xe = torch.tensor(np.stack([normal_view(x[i]) + rng.normal(0, 0.01, x[i].shape) for i in idx]), dtype=torch.float32)
    loss = model(xe, xq, xk)
    opt.zero_grad(); loss.backward(); opt.step()
    if it % 16 == 15:
        with torch.no_grad():
            q = torch.nn.functional.normalize(model.encoder_q(xq), dim=1)
            print(it + 1, round(float(loss), 4), 'q-spread', round(float((q @ q.T).min()), 4), flush=True)
