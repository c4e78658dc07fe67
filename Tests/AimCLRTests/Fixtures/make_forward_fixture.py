"""Writes a small encoder (.pt) with well-conditioned random weights, an input array and the
PyTorch eval-mode outputs of `Benchmarks/pytorch_reference.py`'s independent ST-GCN, so the
Swift forward pass can be compared with PyTorch's without Python at test time.

Run once with PyTorch installed: `python3 make_forward_fixture.py` (outputs are committed).
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "Benchmarks"))
import pytorch_reference as ref  # noqa: E402

torch.manual_seed(3)
model = ref.STGCN(hidden=4, hidden_dim=16, head="classifier", num_class=5)
with torch.no_grad():
    # Spec §9: fresh weights give vanishing eval outputs; use non-trivial values everywhere.
    for name, p in model.named_parameters():
        if "edge_importance" in name:
            p.copy_(0.5 + torch.rand_like(p))
        elif p.dim() > 1:
            p.copy_(torch.randn_like(p) / (p[0].numel() ** 0.5))
        else:
            p.copy_(0.2 * torch.randn_like(p) + (1.0 if name.endswith("weight") else 0.0))
    for name, b in model.named_buffers():
        if name.endswith("running_mean"):
            b.copy_(0.1 * torch.randn_like(b))
        elif name.endswith("running_var"):
            b.copy_(0.5 + torch.rand_like(b))
model.eval()
x = torch.randn(2, 3, 12, 25, 2) * 0.5
x[1, :, :, :, 1] = 0  # an absent second person
with torch.no_grad():
    features = model.pool(model.features(x), 2)
    logits = model.fc(features)
torch.save(model.state_dict(), "forward_encoder.pt")
np.save("forward_input.npy", x.numpy())
np.save("forward_representation.npy", features.numpy())
np.save("forward_logits.npy", logits.numpy())
print("representation", features.shape, "logits", logits.shape)
