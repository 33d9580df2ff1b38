#!/usr/bin/python3
"""Prints PyTorch's values for the conventions tests/reference/loss_ref.cpp follows for the L1 and
smooth L1 losses (and that loss_ref_test.cpp asserts): the loss and the gradient of the summed loss
at x - t = 0, 1, -1, 0.25 and NaN, for l1_loss and smooth_l1_loss with beta 1, 0.5 and 0. Run it with
the system Python that has torch: /usr/bin/python3 tests/reference/pointwise_loss_torch.py

Where the library differs on purpose: a NaN input gives a NaN gradient (PyTorch's CPU l1_loss gives
0), and smooth_l1 with beta 0 is l1 also in its gradient at x = t (0, where PyTorch's smooth_l1
kernel gives -1)."""
import torch
import torch.nn.functional as F

x = torch.tensor([0.0, 1.0, -1.0, 0.25, float("nan")], requires_grad=True)
t = torch.zeros(5)
cases = [("l1_loss", lambda a, b, r: F.l1_loss(a, b, reduction=r))]
for beta in (1.0, 0.5, 0.0):
    cases.append((f"smooth_l1_loss beta={beta}", lambda a, b, r, beta=beta: F.smooth_l1_loss(a, b, reduction=r, beta=beta)))
print("x - t:", [0.0, 1.0, -1.0, 0.25, "nan"])
for name, fn in cases:
    x.grad = None
    fn(x, t, "sum").backward()
    print(f"{name}: loss {fn(x, t, 'none').tolist()}, gradient {x.grad.tolist()}")
