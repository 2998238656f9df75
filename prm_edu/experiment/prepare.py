"""The demo's data, steps 1 and 2: the simulated world, its logs, the pre-trained click model and PV,
and the stopping rule's estimate (`prm_edu.selection`, fitted on the randomized bucket).

Two logs: an earlier, longer one on which the click model is pre-trained (as a production
CTR model learns from past traffic), and the re-ranking log, split by request into train,
validation and test. A small randomized bucket (lists shown in a random order) joins the
training lists: there the displayed position differs from the initial rank, so the
position-bias term (displayed position, `RerankBatch.shown_at`) and PRM's position
embedding (initial rank, `RerankBatch.ranks`) are told apart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from prm_edu.ctr import click_model_logits, pretrain, pv_for_lists
from prm_edu.ctr.features import FeatureSpec, inputs_from_world
from prm_edu.ctr.pretrain import predict_pv
from prm_edu.data.batches import RerankBatch, concat, rerank_batch
from prm_edu.data.world import PAD, RequestLog, World, in_initial_order, initial_order
from prm_edu.examination import PositionBasedModel, ShownLists
from prm_edu.experiment.config import PAST_LOG_SEED_OFFSET, RANDOMIZED_BUCKET_SEED_OFFSET, DemoConfig
from prm_edu.selection import ListClickModel, OrderValue


@dataclass(frozen=True)
class PVStandardizer:
    """Scales PV per dimension by the mean and std (d_pv,) of the real slots of the training lists."""

    mean: torch.Tensor  # (d_pv,)
    std: torch.Tensor  # (d_pv,)

    @classmethod
    def fit(cls, pv: torch.Tensor, padding_mask: torch.Tensor) -> PVStandardizer:
        real = pv[~padding_mask]  # (N, d_pv) the real slots of (R, L, d_pv)
        return cls(real.mean(dim=0), real.std(dim=0).clamp(min=1e-6))

    def __call__(self, pv: torch.Tensor, padding_mask: torch.Tensor) -> torch.Tensor:
        """PV (R, L, d_pv) standardized, with zeros where padded."""
        return ((pv - self.mean) / self.std).masked_fill(padding_mask.unsqueeze(-1), 0.0)


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
    examination: PositionBasedModel | None  # fitted on the randomized bucket; its log e_j is the demo's position-bias term
    seconds: dict[str, float]
    spec: FeatureSpec  # the click model's inputs
    standardize: PVStandardizer  # raw PV -> PV as the re-rankers read it
    select: OrderValue | None  # estimated gain of a re-ranker's orders of the validation lists (None: no randomized bucket)

    @property
    def examinations(self) -> dict[str, torch.Tensor]:
        """The log e_j (L,) curves a fixed position-bias term can read, by source (see config.EXAMINATION_OF)."""
        out = {"pretrained": self.log_examination}
        if self.examination is not None:
            out["estimated"] = torch.as_tensor(self.examination.log_examination, dtype=torch.float32)
        return out

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
        pv = predict_pv(self.click_model, inputs).unsqueeze(0)  # (1, n, d_pv)
        return self.standardize(pv, torch.zeros(pv.shape[:2], dtype=torch.bool))


def prepare(config: DemoConfig, progress: bool = True) -> Prepared:
    """The world, its logs, the pre-trained click model, PV, and the three splits."""
    seconds = {}
    start = time.perf_counter()
    world = World(replace(config.world, seed=config.seed))
    past = world.sample_requests(config.pretrain_requests, seed=config.seed + PAST_LOG_SEED_OFFSET)
    log = world.sample_requests()
    seconds["world"] = time.perf_counter() - start

    result = pretrain(world, past, config.click_model, fit_config=replace(config.pretrain_fit, seed=config.seed, progress=progress),
                      position_aware=config.pretrain_position_aware)
    seconds["pretrain"] = result.seconds
    pv = pv_for_lists(result.model, world, result.spec, log)  # (R, L, d_pv)
    parts = log.split_indices(config.split, seed=config.seed)  # train, valid, test request indices
    padding_mask = torch.as_tensor(log.padding_mask)
    standardize = PVStandardizer.fit(pv[parts[0]], padding_mask[parts[0]])
    pv = standardize(pv, padding_mask)
    batches = [rerank_batch(world.item_features, log.subset(part), pv[part]) for part in parts]
    n_explore = round(config.explore_share * len(log))
    select, examination = None, None
    if n_explore > 0:  # lists shown in a random order: fed to the re-ranker in the initial order, shown_at for the bias term
        bucket = world.sample_requests(n_explore, seed=config.seed + RANDOMIZED_BUCKET_SEED_OFFSET, randomize=True)
        shown, shown_at = in_initial_order(bucket)
        explore_pv = standardize(pv_for_lists(result.model, world, result.spec, shown), torch.as_tensor(shown.padding_mask))
        explore = rerank_batch(world.item_features, shown, explore_pv, shown_at)
        batches[0] = concat([batches[0], explore])
        start = time.perf_counter()
        bucket_lists = shown_lists(world, result.model, result.spec, bucket)
        examination = PositionBasedModel.fit(bucket_lists)
        seconds["examination"] = time.perf_counter() - start
        if config.select == "estimate":
            select = _order_value(world, result.model, result.spec, bucket_lists, log.subset(parts[1]), batches[1])
    test_log = log.subset(parts[2])
    pointwise = click_model_logits(result.model, world, result.spec, test_log)
    return Prepared(world, *batches, test_log, result.model, pointwise, result.valid, result.log_examination, examination,
                    seconds, result.spec, standardize, select)


def shown_lists(world: World, click_model: nn.Module, spec: FeatureSpec, log: RequestLog) -> ShownLists:
    """What `log` holds of its lists (in the order they were displayed: the initial one, or a random one for
    a randomized bucket), with the click model's logits, for the examination estimators."""
    ranks = np.argsort(initial_order(log), axis=1)  # (R, L) initial rank of each displayed slot; padding keeps its slot
    shown_at = np.broadcast_to(np.arange(log.items.shape[1]), log.items.shape)  # (R, L)
    return ShownLists(shown_at=torch.as_tensor(np.ascontiguousarray(shown_at)), ranks=torch.as_tensor(ranks),
                      scores=torch.as_tensor(log.initial_scores), pointwise=click_model_logits(click_model, world, spec, log),
                      category=torch.as_tensor(world.items.category[np.maximum(log.items, 0)]),
                      clicks=torch.as_tensor(log.clicks), padding_mask=torch.as_tensor(log.padding_mask))


def _order_value(world: World, click_model: nn.Module, spec: FeatureSpec, bucket: ShownLists, valid_log: RequestLog,
                 valid: RerankBatch) -> OrderValue:
    """The stopping rule's estimate: a `ListClickModel` fitted on the randomized bucket, judging orders of the
    validation lists. It reads what the logs hold: categories, initial ranks, displayed positions, clicks and
    the pre-trained click model's logits."""
    fitted = ListClickModel.fit(bucket.shown_at, bucket.ranks, bucket.pointwise, bucket.category, bucket.clicks, bucket.padding_mask)
    return OrderValue(fitted, valid.ranks, click_model_logits(click_model, world, spec, valid_log),
                      torch.as_tensor(world.items.category[np.maximum(valid_log.items, 0)]), valid.padding_mask)
