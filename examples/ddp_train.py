#!/usr/bin/env python3
"""A plain PyTorch DDP training script, written for torchrun.

Nothing in it knows about tern: the process group comes from the usual
environment (env:// -- RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), so the
same file runs under

    torchrun --nproc_per_node 2 examples/ddp_train.py
    tern submit -N 2 --ntasks-per-node 2 -- python3 examples/ddp_train.py

It fits a small MLP to a synthetic regression problem (fixed seeds, so every
run computes the same losses) on CPU with the gloo backend. Every rank prints
one line about itself; rank 0 prints the mean training loss of each epoch as
`epoch E loss L` and, at the end, `world_size N`.
"""
import argparse
import os
import socket

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler


def make_dataset(samples, features):
    """y = sin(2 x.w) + noise: the same tensors on every rank."""
    g = torch.Generator().manual_seed(1234)
    x = torch.randn(samples, features, generator=g)
    w = torch.randn(features, 1, generator=g) / features ** 0.5
    y = torch.sin(2 * (x @ w)) + 0.05 * torch.randn(samples, 1, generator=g)
    return TensorDataset(x, y)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--samples", type=int, default=4096)
    ap.add_argument("--batch-size", type=int, default=32, help="per rank")
    ap.add_argument("--lr", type=float, default=0.05)
    args = ap.parse_args()

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    print(f"rank {rank} local_rank {local_rank} world_size {world} "
          f"host {socket.gethostname()} pid {os.getpid()}", flush=True)

    torch.manual_seed(0)   # DDP broadcasts rank 0's initial weights anyway
    data = make_dataset(args.samples, 16)
    sampler = DistributedSampler(data, shuffle=True, seed=0)
    loader = DataLoader(data, batch_size=args.batch_size, sampler=sampler)
    model = DDP(nn.Sequential(nn.Linear(16, 64), nn.Tanh(), nn.Linear(64, 1)))
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.MSELoss()

    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        model.train()
        total = torch.zeros(2)          # sum of losses, samples seen
        for x, y in loader:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()             # gradients all-reduced by DDP
            opt.step()
            total += torch.tensor([loss.item() * len(x), len(x)])
        dist.all_reduce(total)          # the epoch's mean over all ranks
        if rank == 0:
            print(f"epoch {epoch} loss {(total[0] / total[1]).item():.6f}", flush=True)

    if rank == 0:
        print(f"world_size {world}", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
