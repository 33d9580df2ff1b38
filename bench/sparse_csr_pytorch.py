#!/usr/bin/python3
"""Loads vkgrad's CSR safetensors files (nn::save_sparse) into PyTorch.

For each MODEL.csr.safetensors and MODEL.dense.safetensors pair written by
`vkgrad-sparse-model-bench --export DIR` (MODEL = in-hidden-...-out): rebuilds every sparse weight
with torch.sparse_csr_tensor(...).to_dense(), loads the result into torch.nn.Sequential(Linear,
ReLU, ..., Linear) with strict=True, and checks that every tensor equals the dense file's bit for
bit (the dense file is vkgrad's Sequential::state_dict). Needs torch only: the safetensors files are
read by the 30 lines below rather than the safetensors package.

    python3 bench/sparse_csr_pytorch.py DIR
"""
import json
import struct
import sys
import warnings
from pathlib import Path

import torch

warnings.filterwarnings("ignore", "Sparse CSR tensor support is in beta")
DTYPES = {"F32": torch.float32, "I64": torch.int64, "I32": torch.int32, "I16": torch.int16}


def read_safetensors(path):
    """(tensors by name, metadata) of a safetensors file."""
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {})
    body = data[8 + n:]
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        raw = bytearray(body[begin:end])
        t = torch.frombuffer(raw, dtype=DTYPES[e["dtype"]]) if raw else torch.empty(0, dtype=DTYPES[e["dtype"]])
        tensors[name] = t.reshape(e["shape"])
    return tensors, metadata


def dense_state_dict(path):
    """The state_dict of a save_sparse file, each CSR triple rebuilt into its dense weight."""
    tensors, metadata = read_safetensors(path)
    state = {}
    sparse = {k[len("sparse_csr."):]: json.loads(v) for k, v in metadata.items() if k.startswith("sparse_csr.")}
    for name, shape in sparse.items():
        # PyTorch wants crow and col indices of one dtype, int32 or int64: widen the I16 columns.
        crow = tensors.pop(name + ".crow_indices").long()
        col = tensors.pop(name + ".col_indices").long()
        values = tensors.pop(name + ".values")
        state[name] = torch.sparse_csr_tensor(crow, col, values, size=shape).to_dense()
    state.update(tensors)
    return state


def main(directory):
    pairs = sorted(Path(directory).glob("*.csr.safetensors"))
    if not pairs:
        sys.exit(f"no *.csr.safetensors in {directory}")
    for csr_path in pairs:
        model_name = csr_path.name[: -len(".csr.safetensors")]
        dims = [int(d) for d in model_name.split("-")]
        layers = []
        for i in range(len(dims) - 1):
            if i:
                layers.append(torch.nn.ReLU())
            layers.append(torch.nn.Linear(dims[i], dims[i + 1]))
        model = torch.nn.Sequential(*layers)
        state = dense_state_dict(csr_path)
        model.load_state_dict(state, strict=True)
        dense, _ = read_safetensors(csr_path.with_name(model_name + ".dense.safetensors"))
        for name, t in model.state_dict().items():
            expected = dense[name]
            # Bit for bit, except that a -0.0 weight comes back as +0.0 (a structural zero).
            same = torch.equal(t.view(torch.int32), torch.where(expected == 0, torch.zeros_like(expected),
                                                                expected).view(torch.int32))
            if not same:
                sys.exit(f"{model_name}: {name} differs from the dense file")
        zeros = sum(int((model.state_dict()[n] == 0).sum()) for n in state if n.endswith("weight"))
        print(f"{model_name}: {csr_path.stat().st_size} bytes CSR, loaded strictly, {len(state)} tensors equal to "
              f"the dense file bit for bit ({zeros} zero weights); torch {torch.__version__}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
