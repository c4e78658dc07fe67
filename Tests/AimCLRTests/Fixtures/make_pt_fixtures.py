"""Writes the small PyTorch checkpoints that the `.pt` import tests read.

Run once with PyTorch installed (`python3 make_pt_fixtures.py`); the outputs are committed.
Every value is a closed-form function of its index, so the tests recompute them.
"""
import collections
import torch

def state_dict():
    d = collections.OrderedDict()
    # Reference-style names; values are arange-based so the test can recompute them.
    d["encoder_q.data_bn.weight"] = torch.arange(6, dtype=torch.float32) / 8
    d["encoder_q.st_gcn_networks.0.gcn.conv.weight"] = (torch.arange(24, dtype=torch.float32) - 12).reshape(8, 3, 1, 1) / 16
    # A transposed (non-contiguous) view: stored with strides (1, 3).
    d["encoder_q.fc.weight"] = (torch.arange(12, dtype=torch.float32).reshape(4, 3) * 0.5).t()
    # A view with a storage offset into a shared storage.
    base = torch.arange(10, dtype=torch.float32) * 0.25
    d["encoder_q.fc.bias"] = base[4:7]
    d["encoder_q.data_bn.num_batches_tracked"] = torch.tensor(42, dtype=torch.int64)
    d["encoder_q.edge_importance.0"] = torch.arange(8, dtype=torch.float64).reshape(2, 4) / 3
    return d

if __name__ == "__main__":
    sd = state_dict()
    torch.save(sd, "tiny_state_dict.pt")
    torch.save(sd, "tiny_state_dict_legacy.pt", _use_new_zipfile_serialization=False)
    # The reference processors save `{'model': state_dict, ...}`-free plain state dicts, but
    # some tools wrap them; keep one wrapped file to exercise that path.
    torch.save({"state_dict": sd, "epoch": 300}, "tiny_wrapped.pt")
    print("torch", torch.__version__)
