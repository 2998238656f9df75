"""The table on real data: re-ranking MovieLens-100K (what `prm-edu movielens` runs).

1. Read and validate the data (`prm_edu.data.movielens`), split it by time and build
   requests without leakage (`build_requests`): the early period gives item features,
   the initial ranker and the PV click models' training impressions.
2. Pre-train the click models (DeepFM, and FM, FNN, DCN for the extra rows) on the early
   requests: every candidate of S_r is an impression, labelled liked (rating >= 4) or not.
3. Train DLCM, PRM-BASE and PRM-Personalized on the re-ranking period's requests with
   the list-wise loss, stopping early on the validation period (`rerankers.train_rows`).
4. On the test period: P@5, P@10, MAP@5, MAP@10, MAP@30 and NDCG@10 of each order.

No position-bias term here: a label is a rating, given whatever the order was.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import torch

from prm_edu import metrics
from prm_edu.ctr import CTRConfig
from prm_edu.ctr.features import CTRInputs, FeatureSpec
from prm_edu.ctr.pretrain import Impressions, predict, predict_pv, pretrain_on
from prm_edu.data.batches import RerankBatch, rerank_batch
from prm_edu.data.movielens import MovieLens, Requests, build_requests
from prm_edu.data.world import RequestLog
from prm_edu.experiment.config import MovieLensConfig
from prm_edu.experiment.prepare import PVStandardizer
from prm_edu.experiment.rerankers import Reranker, train_rows
from prm_edu.runtime import device as default_device

AGE_BUCKETS = (18, 25, 35, 45, 50, 56)  # GroupLens's age groups: <18, 18-24, ..., 56+
SPLITS = ("train", "valid", "test")  # the re-ranking periods
ROWS = {"DLCM": Reranker("dlcm", False), "PRM-BASE": Reranker("prm", False), "PRM-Personalized": Reranker("prm", True)}


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
    """The whole job for one seed; returns the table rows (test period), timings and request counts."""
    config = config or MovieLensConfig()
    start = time.perf_counter()
    built = build_requests(data, replace(config.requests, seed=config.seed))
    x, periods = built.features, built.periods
    seconds = {"requests": time.perf_counter() - start}
    spec = feature_spec(data, x.shape[1], config.requests.history_len)
    early = impressions(data, x, periods["early"], spec)
    cut = int(0.9 * len(periods["early"])) * config.requests.list_len  # the last tenth of early requests validates
    inputs = {p: impressions(data, x, periods[p], spec).inputs for p in SPLITS}  # every slot, row by row
    masks = {p: torch.as_tensor(periods[p].items < 0) for p in SPLITS}  # (R, L) padding
    fit_config = replace(config.fit, seed=config.seed, progress=progress)
    scores = {"initial order": metrics.initial_order_scores(masks["test"])}
    for k, name in enumerate(config.pv_models):
        t = time.perf_counter()
        result = pretrain_on(early[:cut], early[cut:], spec, CTRConfig(model=name),
                             replace(config.click_fit, seed=config.seed, progress=progress), default_device())
        seconds[f"pretrain {name}"] = time.perf_counter() - t
        pv = {p: predict_pv(result.model, inputs[p]).reshape(*masks[p].shape, -1) for p in SPLITS}  # (R, L, d_pv)
        standardize = PVStandardizer.fit(pv["train"], masks["train"])
        splits = {p: as_batch(x, periods[p], standardize(pv[p], masks[p])) for p in SPLITS}
        if k == 0:  # the first click model: its own scores, DLCM, PRM-BASE and PRM-Personalized
            scores[f"pointwise ({name})"] = predict(result.model, inputs["test"]).reshape(masks["test"].shape)
            rows = ROWS
        else:  # the others: PRM-Personalized with their PV
            rows = {f"PRM-Personalized ({name} PV)": ROWS["PRM-Personalized"]}
        trained = train_rows(rows, splits, prm=config.prm, fit_config=fit_config, loss=config.loss, debias="none", seed=config.seed)
        scores |= trained.test_logits
        seconds |= trained.seconds
    test = splits["test"]  # labels and padding are the same whichever PV the batch holds
    table = {name: metrics.ranking_report(s, test.labels, test.padding_mask) for name, s in scores.items()}
    return {"rows": table, "seconds": seconds, "n_requests": {p: len(r) for p, r in periods.items()}}
