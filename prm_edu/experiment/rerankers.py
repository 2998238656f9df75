"""The re-rankers of the table and the one loop that trains and scores them (both experiments use it).

Each row is a `Reranker`: which model, whether it reads PV, and what it changes from the
experiment's settings. `train_rows` builds each row's model from the same seed, trains it
on logged clicks (or labels) with a list-wise loss, stopping early on what the logs say
(never on the true click model), and scores the test lists; independent rows train side
by side on several cores (`parallel`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch
from torch import nn

from prm_edu import losses
from prm_edu.baselines import DLCM, DLCMConfig
from prm_edu.data.batches import RerankBatch
from prm_edu.experiment import parallel
from prm_edu.experiment.config import DEBIAS, EXAMINATION_OF, check_prm_changes
from prm_edu.position_bias import WithPositionBias
from prm_edu.prm import PRM, PRMConfig
from prm_edu.runtime import device as default_device
from prm_edu.train import FitConfig, History, fit

KINDS = ("prm", "dlcm")
ESTIMATE = "estimated gain"  # the history's name of `select`'s number


@dataclass(frozen=True)
class Reranker:
    """One row of the table: which model, whether it reads PV, and how it is trained."""

    kind: str  # one of KINDS
    personalized: bool  # reads PV
    prm: dict = field(default_factory=dict)  # PRMConfig changes on top of the experiment's
    loss: str | None = None  # None: the experiment's loss
    debias: str | None = None  # None: the experiment's (see config.DEBIAS)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Reranker.kind must be one of {KINDS}, got {self.kind!r}")
        check_prm_changes(self.prm, "Reranker.prm")
        if self.debias is not None and self.debias not in DEBIAS:
            raise ValueError(f"Reranker.debias must be None or one of {DEBIAS}, got {self.debias!r}")


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
    "PRM-P: no position-bias term": Reranker("prm", True, debias="none"),
}


def list_loss(name):
    """A list-wise loss by its name in `losses.LIST_LOSSES`, or the function itself (e.g. a student's)."""
    if callable(name):
        return name
    if name not in losses.LIST_LOSSES:
        raise ValueError(f"loss must be one of {sorted(losses.LIST_LOSSES)}, got {name!r}")
    return losses.LIST_LOSSES[name]


def build_prm(data: RerankBatch, **changes) -> PRM:
    """A fresh PRM sized for `data`'s lists: it reads PV when `data` has any (d_pv > 0)."""
    return PRM(PRMConfig(d_x=data.d_x, d_pv=data.d_pv, max_len=data.x.shape[1], **changes))


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
            out.append(model(part.x, part.pv, part.padding_mask, part.ranks, part.shown_at))
        else:
            out.append(model(part.x, part.pv, part.padding_mask, part.ranks))
    return torch.cat(out).cpu()  # one copy to the host, not one per chunk


def train_reranker(model: nn.Module, train: RerankBatch, valid: RerankBatch, fit_config: FitConfig, loss,
                   debias: str = "learned", log_examination: torch.Tensor | None = None,
                   watch: Callable[[nn.Module], dict[str, float]] | None = None,
                   select: Callable[[torch.Tensor], float] | None = None, name: str | None = None,
                   on_epoch: Callable[[dict[str, float]], None] | None = None) -> History:
    """Fit `model` on logged clicks. `debias` (one of config.DEBIAS) says how the logs' position bias is
    handled; "estimated", "pretrained" and "ipw" read log e_j from `log_examination` (L,). The default,
    "learned", needs no curve and suits a short run; the demo passes "estimated" with the examination of
    its randomized bucket (`Prepared.examinations`), since a beta learned over many epochs learns too much.
    Early stopping: with `select` (e.g. `selection.OrderValue`, which maps the re-ranker's logits (R, L) of
    the validation lists to the estimated gain of its orders), the epoch with the highest estimate; without,
    the lowest list-wise loss on the validation lists (logged clicks, with the position-bias term).
    `watch(model)`, called after every epoch with the re-ranker alone (no position-bias term), adds its
    numbers to that epoch's history: a diagnostic (e.g. the truth's verdict), never read by the stopping rule.
    `name` labels the progress bar (default: the model's class, e.g. PRM); `on_epoch` as in `train.fit`."""
    if debias not in DEBIAS:
        raise ValueError(f"debias must be one of {DEBIAS}, got {debias!r}")
    if debias in EXAMINATION_OF and log_examination is None:
        raise ValueError(f"debias={debias!r} needs log_examination")
    loss_fn = list_loss(loss)
    device = next(model.parameters()).device
    name = name or type(model).__name__  # the model's, not the position-bias wrapper's
    if debias == "ipw":
        weight = torch.exp(-log_examination)  # (L,) 1 / e_j
        train = replace(train, labels=train.labels * weight[train.shown_at])
        valid = replace(valid, labels=valid.labels * weight[valid.shown_at])
    with_bias_term = debias in ("estimated", "learned", "pretrained")
    if with_bias_term:
        model = WithPositionBias(model, train.x.shape[1], None if debias == "learned" else log_examination).to(device)
    valid_on_device = valid.to(device)

    def validate(m: nn.Module) -> dict[str, float]:
        alone = m.model if with_bias_term else m  # what re-ranks: the model without the position-bias term
        logits = logits_of(alone, valid_on_device)  # (R, L) on the CPU, one pass for the loss and the estimate
        trained_logits = logits + m.bias(valid_on_device.shown_at, valid_on_device.padding_mask).cpu() if with_bias_term else logits
        scores = {"loss": loss_fn(trained_logits, valid.labels, valid.padding_mask).item()}
        if select is not None:
            scores[ESTIMATE] = select(logits)
        if watch is not None:
            watched = watch(alone)
            if set(watched) & {"loss", ESTIMATE}:
                raise ValueError(f"train_reranker: watch() must not return 'loss' or {ESTIMATE!r}, the stopping rule's numbers")
            scores |= watched
        return scores

    def train_loss(m: nn.Module, b: RerankBatch) -> torch.Tensor:
        logits = m(b.x, b.pv, b.padding_mask, b.ranks, b.shown_at) if with_bias_term else m(b.x, b.pv, b.padding_mask, b.ranks)
        return loss_fn(logits, b.labels, b.padding_mask)

    monitor, mode = (ESTIMATE, "max") if select is not None else ("loss", "min")
    return fit(model, train.to(device), loss_fn=train_loss, validate=validate, config=fit_config, monitor=monitor, mode=mode,
               name=name, on_epoch=on_epoch)


@dataclass
class Trained:
    """What `train_rows` returns, one entry per row."""

    models: dict[str, nn.Module]
    test_logits: dict[str, torch.Tensor]  # (R_test, L) on the CPU
    histories: dict[str, History]
    seconds: dict[str, float]


def train_rows(rows: dict[str, Reranker], splits: dict[str, RerankBatch], *, prm: dict, fit_config: FitConfig, loss,
               debias: str, seed: int, examinations: dict[str, torch.Tensor] | None = None,
               select: Callable[[torch.Tensor], float] | None = None,
               watch: Callable[[nn.Module, RerankBatch], dict[str, float]] | None = None,
               workers: int | None = None) -> Trained:
    """Train every row on `splits` ("train", "valid", "test", with PV; rows that are not personalized
    read them without) and score the test lists. Each model's weights are drawn from `seed`. A row whose
    debias reads a log e_j curve takes it from `examinations` (e.g. `Prepared.examinations`; see
    config.EXAMINATION_OF).
    `select` and `watch` as in `train_reranker`; `watch` also gets the row's test lists.
    `workers` rows train at once, side by side (None: `parallel.workers`, one per core on the CPU);
    `fit_config.progress` shows one bar per row."""
    without_pv = {name: batch.without_pv() for name, batch in splits.items()}
    examinations = examinations or {}
    for name, row in rows.items():
        source = EXAMINATION_OF.get(row.debias or debias)
        if source is not None and source not in examinations:
            raise ValueError(f"train_rows: row {name!r} (debias={row.debias or debias!r}) reads the {source!r} examination; "
                             f"examinations has {sorted(examinations)}")
    models, jobs = {}, {}
    for name, row in rows.items():
        data = splits if row.personalized else without_pv
        torch.manual_seed(seed)
        if row.kind == "dlcm":
            model = DLCM(DLCMConfig(d_x=data["train"].d_x, d_pv=data["train"].d_pv))
        else:
            model = build_prm(data["train"], **{**prm, **row.prm})
        models[name] = model.to(default_device())
        row_watch = None if watch is None else (lambda m, test=data["test"]: watch(m, test))

        def job(on_epoch, name=name, row=row, data=data, row_watch=row_watch):
            model = models[name]
            history = train_reranker(model, data["train"], data["valid"], replace(fit_config, progress=False), row.loss or loss,
                                     row.debias or debias, examinations.get(EXAMINATION_OF.get(row.debias or debias)),
                                     row_watch, select, name, on_epoch)
            return history, model.state_dict(), logits_of(model, data["test"])

        jobs[name] = job
    done = parallel.run_jobs(jobs, fit_config.epochs, parallel.workers(len(jobs)) if workers is None else workers,
                             fit_config.progress)
    trained = Trained({}, {}, {}, {})
    for name, ((history, weights, test_logits), seconds) in done.items():
        models[name].load_state_dict(weights)  # a no-op for a row trained in this process
        trained.models[name] = models[name].eval()
        trained.histories[name], trained.test_logits[name], trained.seconds[name] = history, test_logits, seconds
    return trained
