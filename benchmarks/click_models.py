"""Our DeepFM and DCN against DeepCTR-Torch's, trained on the same world impressions with the
same sizes (embeddings k = 8, MLP 64-32, 2 cross layers, Adam, batch 4096, lr 5e-3):
validation AUC after each epoch and seconds per epoch.

    python benchmarks/click_models.py

Run in the benchmark environment (`make bench-env`): deepctr-torch is not a dependency of prm-edu.
"""

from __future__ import annotations

import socket
import time
from dataclasses import replace

import numpy as np
import torch
from common import machine, markdown_table

from prm_edu import World
from prm_edu.ctr import CTRConfig
from prm_edu.ctr.features import FeatureSpec
from prm_edu.ctr.pretrain import PRETRAIN_FIT, impressions_from_log, pretrain_on
from prm_edu.metrics import auc

EPOCHS = 4


def world_impressions():
    world = World()
    log = world.sample_requests(12000, seed=1000)
    train_log, valid_log = log.split((0.9, 0.1), seed=0)
    spec = FeatureSpec.for_world(world)
    return world, spec, impressions_from_log(world, spec, train_log), impressions_from_log(world, spec, valid_log)


def ours(spec, train, valid, model: str) -> tuple[float, float]:
    fit = replace(PRETRAIN_FIT, epochs=EPOCHS, patience=EPOCHS, progress=False)
    result = pretrain_on(train, valid, spec, CTRConfig(model=model), fit, torch.device("cpu"))
    seconds = [e["seconds"] for e in result.history.epochs]
    return result.history.epochs[-1]["auc"], float(np.median(seconds))


def deepctr_inputs(spec: FeatureSpec, imp):
    """The same fields as DeepCTR-Torch wants them: a dict of columns (ids shifted by 1: 0 is padding)."""
    columns = {}
    for j, (name, _) in enumerate(spec.user_fields):
        columns[name] = imp.inputs.user[:, j].numpy()
    for j, (name, _) in enumerate(spec.item_fields):
        columns[name] = imp.inputs.item[:, j].numpy() + (1 if name == "item_id" else 0)
    for j, name in enumerate(spec.dense_fields):
        columns[name] = imp.inputs.dense[:, j].numpy()
    columns["history"] = imp.inputs.history.numpy() + 1  # PAD -1 -> 0
    return columns


def theirs(spec, train, valid, model: str) -> tuple[float, float]:
    socket.setdefaulttimeout(2)  # deepctr-torch looks for updates online at import; there is no network here
    from deepctr_torch.inputs import DenseFeat, SparseFeat, VarLenSparseFeat
    from deepctr_torch.models import DCN, DeepFM

    k = 8
    features = [SparseFeat(name, size, embedding_dim=k) for name, size in spec.user_fields]
    features += [SparseFeat(name, size + (1 if name == "item_id" else 0), embedding_dim=k) for name, size in spec.item_fields]
    features += [DenseFeat(name, 1) for name in spec.dense_fields]
    features += [VarLenSparseFeat(SparseFeat("history", spec.n_items + 1, embedding_dim=k, embedding_name="item_id"),
                                  maxlen=spec.history_len, combiner="mean")]
    torch.manual_seed(0)
    if model == "deepfm":
        net = DeepFM(features, features, task="binary", dnn_hidden_units=(64, 32), l2_reg_embedding=0.0, l2_reg_linear=0.0,
                     l2_reg_dnn=0.0, device="cpu")
    else:
        net = DCN(features, features, cross_num=2, task="binary", dnn_hidden_units=(64, 32), l2_reg_embedding=0.0,
                  l2_reg_linear=0.0, l2_reg_cross=0.0, l2_reg_dnn=0.0, device="cpu")
    net.compile(torch.optim.Adam(net.parameters(), lr=5e-3), "binary_crossentropy")
    x_train, x_valid = deepctr_inputs(spec, train), deepctr_inputs(spec, valid)
    seconds = []
    for _ in range(EPOCHS):
        start = time.perf_counter()
        net.fit(x_train, train.labels.numpy(), batch_size=4096, epochs=1, verbose=0, shuffle=True)
        seconds.append(time.perf_counter() - start)
    predicted = net.predict(x_valid, batch_size=8192).reshape(-1)
    return auc(torch.as_tensor(predicted), valid.labels), float(np.median(seconds))


def main() -> None:
    print(f"machine: {machine()}\n")
    _, spec, train, valid = world_impressions()
    print(f"{len(train)} training and {len(valid)} validation impressions, {EPOCHS} epochs each\n")
    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for model in ("deepfm", "dcn"):
            our_auc, our_s = ours(spec, train, valid, model)
            their_auc, their_s = theirs(spec, train, valid, model)
            rows.append([model, str(threads), f"{our_auc:.4f}", f"{their_auc:.4f}", f"{our_auc - their_auc:+.4f}",
                         f"{our_s:.2f}", f"{their_s:.2f}", f"{our_s / their_s:.2f}"])
    print(markdown_table(["model", "threads", "AUC ours", "AUC DeepCTR-Torch", "difference", "s/epoch ours",
                          "s/epoch DeepCTR-Torch", "time ratio"], rows))


if __name__ == "__main__":
    main()
