"""The main job, end to end on the simulated world (what `prm-edu demo` runs).

1. Simulate the world. Two logs: an earlier, longer one on which the click model is
   pre-trained (as a production CTR model learns from past traffic), and the re-ranking
   log, split by request into train / validation / test. A small randomized bucket
   (lists shown in a random order) joins the training lists: there the displayed position
   differs from the initial rank, so the position-bias term (display position) and PRM's
   position embedding (initial rank) are told apart.
2. Pre-train the PV click model (DeepFM by default) and compute PV for every list.
3. Train the re-rankers on the logged clicks with the list-wise loss and a learned
   position-bias term beside each model (see `prm_edu.position_bias`); model selection (early stopping) uses
   the validation loss on logged clicks only, never the true click model.
4. On the test requests: the paper's metrics on the logged clicks, and, because this
   world knows its click model, the expected clicks of every new order and its share of
   the oracle's gain.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from prm_edu import losses, metrics
from prm_edu.baselines import DLCM, DLCMConfig
from prm_edu.ctr import CTRConfig, click_model_logits, pretrain, pv_for_lists
from prm_edu.ctr.features import FeatureSpec, inputs_from_world
from prm_edu.ctr.pretrain import PRETRAIN_FIT, predict
from prm_edu.data.batches import RerankBatch, concat, rerank_batch
from prm_edu.data.world import PAD, RequestLog, World, WorldConfig, in_initial_order
from prm_edu.position_bias import WithPositionBias
from prm_edu.prm import PRM, PRMConfig
from prm_edu.runtime import device as default_device
from prm_edu.train import FitConfig, History, fit

POSITION_BIAS = ("learned", "pretrained", "ipw", "none")  # see train_reranker
RERANK_FIT = FitConfig(epochs=6, batch_size=256, lr=3e-3, warmup_steps=200, patience=2)
# smaller batches than the library default: the click model gets near its best AUC in 3 epochs
DEMO_PRETRAIN_FIT = replace(PRETRAIN_FIT, epochs=3, batch_size=1024, patience=1)


@dataclass
class DemoConfig:
    """Every choice of the main job. The same config gives the same numbers on the same machine."""

    world: WorldConfig = field(default_factory=WorldConfig)
    pretrain_requests: int = 40000  # the earlier log the click model learns from (longer than the re-ranking log)
    explore_share: float = 0.2  # a randomized bucket this size (a share of the log) joins the training lists
    click_model: CTRConfig = field(default_factory=CTRConfig)
    pretrain_fit: FitConfig = DEMO_PRETRAIN_FIT
    pretrain_position_aware: bool = True  # learn P(seen | position) beside the click model (PAL)
    # PRMConfig changes: heads that split d = 64, and the fused kernel (both faster)
    prm: dict = field(default_factory=lambda: {"head_dim": 32, "fast_attention": True})
    fit: FitConfig = RERANK_FIT
    loss: str = "softmax_nll"  # one of losses.LIST_LOSSES
    # one of POSITION_BIAS: how training handles the logs' position bias. "learned": a logit per displayed position
    # beside the model, told apart from the initial rank by the randomized bucket (see prm_edu.position_bias)
    position_bias: str = "learned"
    split: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.position_bias not in POSITION_BIAS:
            raise ValueError(f"DemoConfig.position_bias must be one of {POSITION_BIAS}, got {self.position_bias!r}")
        if self.position_bias in ("pretrained", "ipw") and not self.pretrain_position_aware:
            raise ValueError(f"DemoConfig.position_bias={self.position_bias!r} reads e_j from a position-aware pre-training: "
                             "set pretrain_position_aware=True or position_bias='learned'")


@dataclass
class Prepared:
    """Everything the re-rankers are trained and judged on."""

    world: World
    train: RerankBatch
    valid: RerankBatch
    test: RerankBatch
    test_log: RequestLog
    click_model: nn.Module
    pointwise_test_logits: torch.Tensor  # (R_test, L) the click model's logits
    pretrain_valid: dict[str, float]
    log_examination: torch.Tensor  # (L,) log P(seen | position) learned in pre-training
    seconds: dict[str, float]
    spec: FeatureSpec  # the click model's inputs
    standardize: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # raw PV, padding mask -> PV as the re-rankers read it

    def pv_of(self, user: int, items: np.ndarray, history: np.ndarray | None = None) -> torch.Tensor:
        """PV (1, n, d_pv) of one list of real items for `user`, as the re-rankers read it;
        `history` (H,) replaces the user's behaviour history H_u (a what-if)."""
        items = np.asarray(items)
        inputs = inputs_from_world(self.world, self.spec, np.full(len(items), user), items)
        if history is not None:
            history = np.asarray(history, dtype=np.int64)
            n_items = self.world.config.n_items
            if history.ndim != 1 or len(history) > self.spec.history_len or ((history < PAD) | (history >= n_items)).any():
                raise ValueError(f"pv_of: history must be at most {self.spec.history_len} item ids in [0, {n_items}) "
                                 f"or PAD, got {history.tolist()}")
            padded = np.full(self.spec.history_len, PAD)
            padded[: len(history)] = history
            inputs = replace(inputs, history=torch.as_tensor(padded).expand(len(items), -1).clone()).validate(self.spec)
        pv = predict(self.click_model, inputs, what="pv").unsqueeze(0)  # (1, n, d_pv)
        return self.standardize(pv, torch.zeros(pv.shape[:2], dtype=torch.bool))


def pv_standardizer(reference: torch.Tensor, mask: torch.Tensor):
    """A function scaling PV (R, L, d_pv) per dimension by the mean and std of the real slots of
    `reference` (the training lists), with zeros where padded."""
    real = reference[~mask]  # (N, d_pv)
    mean, std = real.mean(dim=0), real.std(dim=0).clamp(min=1e-6)
    return lambda pv, padding_mask: ((pv - mean) / std).masked_fill(padding_mask.unsqueeze(-1), 0.0)


def prepare(config: DemoConfig, progress: bool = True) -> Prepared:
    """Steps 1 and 2: the world, its logs, the pre-trained click model, PV, and the three splits."""
    seconds = {}
    start = time.perf_counter()
    world = World(replace(config.world, seed=config.seed) if config.seed != config.world.seed else config.world)
    past = world.sample_requests(config.pretrain_requests, seed=world.config.seed + 1000)
    log = world.sample_requests()
    seconds["world"] = time.perf_counter() - start

    result = pretrain(world, past, config.click_model, fit_config=replace(config.pretrain_fit, seed=config.seed, progress=progress),
                      position_aware=config.pretrain_position_aware)
    seconds["pretrain"] = result.seconds
    pv = pv_for_lists(result.model, world, result.spec, log)  # (R, L, d_pv)
    parts = log.split_indices(config.split, seed=config.seed)  # train, valid, test request indices
    padding_mask = torch.as_tensor(log.padding_mask)
    standardize = pv_standardizer(pv[parts[0]], padding_mask[parts[0]])
    pv = standardize(pv, padding_mask)
    batches = [rerank_batch(world.item_features, log.subset(part), pv[part]) for part in parts]
    n_explore = round(config.explore_share * len(log))
    if n_explore > 0:  # lists shown in a random order: fed to the re-ranker in the initial order, shown_at for the bias term
        explore, shown_at = in_initial_order(world.sample_requests(n_explore, seed=world.config.seed + 2000, randomize=True))
        explore_pv = standardize(pv_for_lists(result.model, world, result.spec, explore), torch.as_tensor(explore.padding_mask))
        batches[0] = concat([batches[0], rerank_batch(world.item_features, explore, explore_pv, shown_at)])
    test_log = log.subset(parts[2])
    pointwise = click_model_logits(result.model, world, result.spec, test_log)
    return Prepared(world, *batches, test_log, result.model, pointwise, result.valid, result.log_examination, seconds,
                    result.spec, standardize)


def list_loss(name):
    """A list-wise loss by its name in `losses.LIST_LOSSES`, or the function itself (e.g. a student's)."""
    if callable(name):
        return name
    if name not in losses.LIST_LOSSES:
        raise ValueError(f"loss must be one of {sorted(losses.LIST_LOSSES)}, got {name!r}")
    return losses.LIST_LOSSES[name]


@torch.no_grad()
def logits_of(model: nn.Module, batch: RerankBatch, batch_size: int = 1024) -> torch.Tensor:
    """The logits (R, L) of a re-ranker (or of a `WithPositionBias` wrapper) for a whole RerankBatch, in chunks
    on the model's device; returned on the CPU (they feed numpy-facing measures)."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(batch), batch_size):
        part = batch[start : start + batch_size].to(device)
        if isinstance(model, WithPositionBias):
            out.append(model(part.x, part.pv, part.padding_mask, part.positions))
        else:
            out.append(model(part.x, part.pv, part.padding_mask))
    return torch.cat(out).cpu()  # one copy to the host, not one per chunk


def train_reranker(model: nn.Module, train: RerankBatch, valid: RerankBatch, fit_config: FitConfig, loss: str,
                   position_bias: str = "learned", log_examination: torch.Tensor | None = None) -> History:
    """Fit `model` on logged clicks; early stopping on the validation loss. `position_bias` says how
    the logs' position bias is handled during training (see `prm_edu.position_bias`):

    - "learned": a learned logit per position beside the model;
    - "pretrained": that logit fixed to `log_examination` (e.g. learned in pre-training);
    - "ipw": clicks weighted by 1 / e_j (inverse propensity weighting) with e_j from `log_examination`;
    - "none": the model alone.
    """
    if position_bias not in POSITION_BIAS:
        raise ValueError(f"position_bias must be one of {POSITION_BIAS}, got {position_bias!r}")
    if position_bias in ("pretrained", "ipw") and log_examination is None:
        raise ValueError(f"position_bias={position_bias!r} needs log_examination")
    loss_fn = list_loss(loss)
    device = next(model.parameters()).device
    if position_bias == "ipw":
        weight = torch.exp(-log_examination)  # (L,) 1 / e_j
        train = replace(train, labels=train.labels * weight[train.positions])
        valid = replace(valid, labels=valid.labels * weight[valid.positions])
    with_offsets = position_bias in ("learned", "pretrained")
    if with_offsets:
        model = WithPositionBias(model, train.x.shape[1], log_examination if position_bias == "pretrained" else None).to(device)
    valid_on_device = valid.to(device)

    def validate(m: nn.Module) -> dict[str, float]:
        logits = logits_of(m, valid_on_device)
        return {"loss": loss_fn(logits, valid.labels, valid.padding_mask).item()}

    def train_loss(m: nn.Module, b: RerankBatch) -> torch.Tensor:
        logits = m(b.x, b.pv, b.padding_mask, b.positions) if with_offsets else m(b.x, b.pv, b.padding_mask)
        return loss_fn(logits, b.labels, b.padding_mask)

    return fit(model, train.to(device), loss_fn=train_loss, validate=validate, config=fit_config, monitor="loss", mode="min")


def evaluate(world: World, log: RequestLog, test: RerankBatch, scores: dict[str, torch.Tensor]) -> dict[str, dict[str, float]]:
    """One row per method: metrics on the logged clicks, expected clicks per list, share of the oracle's gain."""
    orders = {name: metrics.rank_order(s, test.padding_mask).numpy() for name, s in scores.items()}
    orders["context-blind oracle"] = world.context_blind_order(log.users, log.items)
    orders["oracle (greedy)"] = world.oracle_order(log.users, log.items)
    initial = metrics.expected_clicks(world, log.users, log.items)
    oracle = metrics.expected_clicks(world, log.users, log.items, orders["oracle (greedy)"])
    rows = {}
    for name, order in orders.items():
        new_scores = metrics.scores_from_order(order)  # so that the logged-click metrics see the new order
        clicks = metrics.expected_clicks(world, log.users, log.items, order)
        rows[name] = {**metrics.ranking_report(new_scores, test.labels, test.padding_mask),
                      "clicks/list": float(clicks.mean()), "oracle gain": metrics.share_of_oracle_gain(clicks, initial, oracle)}
    return rows


def build_prm(prepared: Prepared, personalized: bool, **changes) -> PRM:
    d_pv = prepared.train.d_pv if personalized else 0
    return PRM(PRMConfig(d_x=prepared.train.d_x, d_pv=d_pv, max_len=prepared.train.x.shape[1], **changes))


@dataclass(frozen=True)
class Reranker:
    """One row of the table: which model, whether it reads PV, and how it is trained."""

    kind: str  # "prm" or "dlcm"
    personalized: bool
    prm: dict = field(default_factory=dict)  # PRMConfig changes on top of DemoConfig.prm
    loss: str | None = None  # None: DemoConfig.loss
    position_bias: str | None = None  # None: DemoConfig.position_bias


MAIN_ROWS = {
    "DLCM": Reranker("dlcm", False),
    "PRM-BASE": Reranker("prm", False),
    "PRM-Personalized": Reranker("prm", True),
    "PRM-Personalized, no PE": Reranker("prm", True, {"position": "none"}),
    "PRM-Personalized, no attention": Reranker("prm", True, {"list_attention": False}),
}
ABLATION_ROWS = {
    "PRM-P: sinusoidal PE": Reranker("prm", True, {"position": "sinusoidal"}),
    "PRM-P: no residual": Reranker("prm", True, {"residual": False}),
    "PRM-P: no dropout": Reranker("prm", True, {"dropout": 0.0}),
    "PRM-P: blocks=1": Reranker("prm", True, {"n_blocks": 1}),
    "PRM-P: blocks=4": Reranker("prm", True, {"n_blocks": 4}),
    "PRM-P: heads=1": Reranker("prm", True, {"n_heads": 1}),
    "PRM-P: heads=4": Reranker("prm", True, {"n_heads": 4}),
    "PRM-P: loss=bce": Reranker("prm", True, loss="bce"),
    "PRM-P: loss=listnet": Reranker("prm", True, loss="listnet"),
    "PRM-P: no position-bias term": Reranker("prm", True, position_bias="none"),
}


def run(config: DemoConfig, progress: bool = True, rows: dict[str, Reranker] | None = None) -> dict:
    """The whole job; returns the table rows, the histories, the timings and the trained models."""
    rows = MAIN_ROWS if rows is None else rows
    torch.manual_seed(config.seed)
    prepared = prepare(config, progress)
    dev = default_device()
    without_pv = {"train": prepared.train.without_pv(), "valid": prepared.valid.without_pv(), "test": prepared.test.without_pv()}
    with_pv = {"train": prepared.train, "valid": prepared.valid, "test": prepared.test}
    fit_config = replace(config.fit, seed=config.seed, progress=progress)
    scores = {"initial order": metrics.initial_order_scores(prepared.test.padding_mask),
              "pointwise (click model)": prepared.pointwise_test_logits}
    histories, seconds, models = {}, dict(prepared.seconds), {}
    for name, row in rows.items():
        data = with_pv if row.personalized else without_pv
        torch.manual_seed(config.seed)
        if row.kind == "dlcm":
            model = DLCM(DLCMConfig(d_x=prepared.train.d_x, d_pv=data["train"].d_pv))
        else:
            model = build_prm(prepared, row.personalized, **{**config.prm, **row.prm})
        model = model.to(dev)
        start = time.perf_counter()
        histories[name] = train_reranker(model, data["train"], data["valid"], fit_config, row.loss or config.loss,
                                         row.position_bias or config.position_bias, prepared.log_examination)
        seconds[name] = time.perf_counter() - start
        scores[name] = logits_of(model, data["test"])
        models[name] = model
    table = evaluate(prepared.world, prepared.test_log, prepared.test, scores)
    return {"rows": table, "histories": histories, "seconds": seconds, "pretrain_valid": prepared.pretrain_valid,
            "models": models, "prepared": prepared}
