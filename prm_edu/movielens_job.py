"""The paper's table on real data: re-ranking MovieLens-100K (what `prm-edu movielens` runs).

1. Read and validate the data (`prm_edu.data.movielens`), split it by time and build
   requests without leakage (`build_requests`): the early period gives item features,
   the initial ranker and the PV click model's training impressions.
2. Pre-train the click models (DeepFM, and FM, FNN, DCN for the extra rows) on the early
   requests: every candidate of S_r is an impression, labelled liked (rating >= 4) or not.
3. Train DLCM, PRM-BASE and PRM-Personalized on the re-ranking period's requests with
   the list-wise loss; early stopping on the validation period.
4. On the test period: P@5, P@10, MAP@5, MAP@10, MAP@30 and NDCG@10 of each order.

No position-bias term here: a label is a rating, given whatever the order was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from prm_edu import metrics
from prm_edu.baselines import DLCM, DLCMConfig
from prm_edu.ctr import CTRConfig
from prm_edu.ctr.features import CTRInputs, FeatureSpec
from prm_edu.ctr.pretrain import PRETRAIN_FIT, Impressions, predict, pretrain_on
from prm_edu.data.batches import RerankBatch, rerank_batch
from prm_edu.data.movielens import MovieLens, RequestConfig, Requests, build_requests
from prm_edu.data.world import RequestLog
from prm_edu.pipeline import logits_of, pv_standardizer, train_reranker
from prm_edu.prm import PRM, PRMConfig
from prm_edu.runtime import device as default_device
from prm_edu.train import FitConfig

AGE_BUCKETS = (18, 25, 35, 45, 50, 56)  # GroupLens's age groups: <18, 18-24, ..., 56+
FIT = FitConfig(epochs=10, batch_size=256, lr=3e-3, warmup_steps=50, patience=3)
CLICK_FIT = replace(PRETRAIN_FIT, epochs=5, batch_size=2048)


@dataclass
class MovieLensConfig:
    requests: RequestConfig = field(default_factory=RequestConfig)
    pv_models: tuple[str, ...] = ("deepfm", "fm", "fnn", "dcn")  # the first is "PRM-Personalized"; the others add rows
    prm: dict = field(default_factory=lambda: {"d_model": 64, "n_blocks": 2, "n_heads": 2, "head_dim": 32, "fast_attention": True})
    fit: FitConfig = FIT
    click_fit: FitConfig = CLICK_FIT
    seed: int = 0


def feature_spec(data: MovieLens, n_dense: int, history_len: int) -> FeatureSpec:
    user_fields = (("age_group", len(AGE_BUCKETS) + 1), ("gender", 2), ("occupation", len(data.occupations)))
    dense = tuple(f"x{j}" for j in range(n_dense))  # the movie features X, one field each
    return FeatureSpec(user_fields, (("item_id", data.n_items),), dense, data.n_items, history_len)


def impressions(data: MovieLens, x: np.ndarray, requests: Requests, spec: FeatureSpec) -> Impressions:
    """Every slot of every S_r as one impression (user profile, H_u, movie, X), labelled liked or not."""
    rows, slots = np.nonzero(requests.items >= 0)
    users, items = requests.users[rows], requests.items[rows, slots]
    profile = np.stack([np.searchsorted(AGE_BUCKETS, data.age[users], side="right"), data.gender[users], data.occupation[users]], 1)
    inputs = CTRInputs(torch.as_tensor(profile), torch.as_tensor(items[:, None]), torch.as_tensor(x[items]),
                       torch.as_tensor(requests.history[rows]))
    return Impressions(inputs.validate(spec), torch.as_tensor(requests.labels[rows, slots]), torch.as_tensor(slots))


def as_batch(x: np.ndarray, requests: Requests, pv: torch.Tensor | None = None) -> RerankBatch:
    """The requests as the re-rankers read them (labels in place of clicks)."""
    return rerank_batch(x, RequestLog(requests.users, requests.items, requests.initial_scores, requests.labels), pv)


def run(data: MovieLens, config: MovieLensConfig | None = None, progress: bool = False) -> dict:
    """The whole job for one seed; returns the table rows (test period) and timings."""
    config = config or MovieLensConfig()
    seconds = {}
    start = time.perf_counter()
    built = build_requests(data, replace(config.requests, seed=config.seed))
    x = built["X"]
    seconds["requests"] = time.perf_counter() - start
    spec = feature_spec(data, x.shape[1], config.requests.history_len)
    early = impressions(data, x, built["early"], spec)
    cut = int(0.9 * len(built["early"])) * config.requests.list_len  # the last tenth of early requests validates
    click_fit = replace(config.click_fit, seed=config.seed, progress=progress)
    dev = default_device()
    scores = {"initial order": metrics.initial_order_scores(torch.as_tensor(built["test"].items < 0))}
    batches = {name: as_batch(x, built[name]) for name in ("train", "valid", "test")}
    fit_config = replace(config.fit, seed=config.seed, progress=progress)

    def train(name: str, model: torch.nn.Module, splits: dict[str, RerankBatch]) -> None:
        torch.manual_seed(config.seed)
        t = time.perf_counter()
        train_reranker(model.to(dev), splits["train"], splits["valid"], fit_config, "softmax_nll", position_bias="none")
        seconds[name] = time.perf_counter() - t
        scores[name] = logits_of(model, splits["test"])

    inputs = {p: impressions(data, x, built[p], spec).inputs for p in ("train", "valid", "test")}  # every slot, row by row
    masks = {p: torch.as_tensor(built[p].items < 0) for p in inputs}  # (R, L) padding
    pv_data = {}
    for k, name in enumerate(config.pv_models):
        t = time.perf_counter()
        result = pretrain_on(early[:cut], early[cut:], spec, CTRConfig(model=name), click_fit, dev)
        seconds[f"pretrain {name}"] = time.perf_counter() - t
        pv = {p: predict(result.model, inputs[p], what="pv").reshape(*masks[p].shape, -1) for p in inputs}  # (R, L, d_pv)
        standardize = pv_standardizer(pv["train"], masks["train"])
        pv_data[name] = {p: as_batch(x, built[p], standardize(pv[p], masks[p])) for p in inputs}
        if k == 0:
            scores[f"pointwise ({name})"] = predict(result.model, inputs["test"]).reshape(masks["test"].shape)
    base = {**config.prm}
    torch.manual_seed(config.seed)
    train("DLCM", DLCM(DLCMConfig(d_x=x.shape[1], d_pv=0)), batches)
    train("PRM-BASE", PRM(PRMConfig(d_x=x.shape[1], d_pv=0, max_len=config.requests.list_len, **base)), batches)
    for k, name in enumerate(config.pv_models):
        row = "PRM-Personalized" if k == 0 else f"PRM-Personalized ({name} PV)"
        d_pv = pv_data[name]["train"].d_pv
        train(row, PRM(PRMConfig(d_x=x.shape[1], d_pv=d_pv, max_len=config.requests.list_len, **base)), pv_data[name])
    test = batches["test"]
    rows = {name: metrics.ranking_report(s, test.labels, test.padding_mask) for name, s in scores.items()}
    return {"rows": rows, "seconds": seconds, "n_requests": {p: len(built[p]) for p in ("early", "train", "valid", "test")}}


def fast_config(seed: int = 0) -> MovieLensConfig:
    """A few seconds' version for tests: DeepFM only, short training."""
    return MovieLensConfig(pv_models=("deepfm",), fit=replace(FIT, epochs=2, warmup_steps=20),
                           click_fit=replace(CLICK_FIT, epochs=2), seed=seed)
