"""Every setting of the two experiments, in one place: the demo on the simulated world
(`DemoConfig`, `demo_config`) and the job on MovieLens-100K (`MovieLensConfig`,
`movielens_config`). Each comes in three sizes (`prm_edu.runtime.SETTINGS`): "full", the
numbers the course site shows; "class", a world that tells the same story on one core in
minutes; "fast", the same steps in seconds, to exercise the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

from prm_edu.ctr import CTRConfig
from prm_edu.ctr.pretrain import PRETRAIN_FIT
from prm_edu.data.movielens import RequestConfig
from prm_edu.data.world import WorldConfig
from prm_edu.losses import LIST_LOSSES
from prm_edu.prm import PRMConfig
from prm_edu.runtime import SETTINGS
from prm_edu.train import FitConfig

# How training handles the position bias of logged clicks (see `prm_edu.position_bias`):
# "estimated": a logit per displayed position beside the model, fixed to log e_j of the position-based click
# model fitted on the randomized bucket (`prm_edu.examination`); "learned": that logit learned from zero beside
# the model (it learns more than the examination); "pretrained": fixed to e_j from the position-aware
# pre-training; "ipw": clicks weighted by 1 / e_j (the pre-training's); "none": the model alone.
DEBIAS = ("estimated", "learned", "pretrained", "ipw", "none")
# Which log e_j curve each debias reads (`Prepared.examinations`); "learned" and "none" read none
EXAMINATION_OF = {"estimated": "estimated", "pretrained": "pretrained", "ipw": "pretrained"}
# How the demo chooses each re-ranker's epoch (see `prm_edu.selection`): "estimate": the highest estimated
# gain of its orders of the validation lists, from a click model fitted on the randomized bucket;
# "loss": the lowest list-wise loss on the logged validation lists (blind to what the re-ranking earns beside a
# learned position-bias term; beside the estimated examination it stops about as well: benchmarks/README.md).
SELECT = ("estimate", "loss")
# up to 8 epochs; the stopping rule (DemoConfig.select) picks the epoch, patience 2 ends a run soon after it. With the
# examination fixed, PRM is near its best by epoch 5 to 8 (benchmarks/README.md, "The speed/quality frontier")
RERANK_FIT = FitConfig(epochs=8, batch_size=256, lr=3e-3, warmup_steps=200, patience=2)
# smaller batches than the library default: the click model gets near its best AUC in 3 epochs
DEMO_PRETRAIN_FIT = replace(PRETRAIN_FIT, epochs=3, batch_size=1024, patience=1)
MOVIELENS_FIT = FitConfig(epochs=10, batch_size=256, lr=3e-3, warmup_steps=50, patience=3)
MOVIELENS_CLICK_FIT = replace(PRETRAIN_FIT, epochs=5, batch_size=2048)

# Each log of the simulated world draws from its own random stream, the world's seed plus an offset
# (the re-ranking log uses World.sample_requests' own default, the seed plus 1)
PAST_LOG_SEED_OFFSET = 1000  # the earlier log the click model is pre-trained on
RANDOMIZED_BUCKET_SEED_OFFSET = 2000  # the lists shown in a random order

SET_BY_THE_DATA = ("d_x", "d_pv", "max_len")  # PRMConfig fields the experiment fills in itself


def check_prm_changes(changes: dict, where: str) -> None:
    """`changes` must name PRMConfig fields (not those the data sets); a typo fails here, not deep in a run."""
    allowed = {f.name for f in fields(PRMConfig)} - set(SET_BY_THE_DATA)
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"{where}: {sorted(unknown)} are not PRMConfig fields one may change; choose from {sorted(allowed)}")


@dataclass
class DemoConfig:
    """Every choice of the demo. The same config gives the same numbers on the same machine."""

    world: WorldConfig = field(default_factory=WorldConfig)
    pretrain_requests: int = 40000  # the earlier log the click model learns from (longer than the re-ranking log)
    explore_share: float = 0.2  # a randomized bucket this size (a share of the log) joins the training lists
    click_model: CTRConfig = field(default_factory=CTRConfig)
    pretrain_fit: FitConfig = DEMO_PRETRAIN_FIT
    pretrain_position_aware: bool = True  # learn P(seen | position) beside the click model (PAL)
    # PRMConfig changes: d = 32 (the frontier's choice: as good as 64 here at less than half the time), heads that
    # split it, and the fused kernel (both faster)
    prm: dict = field(default_factory=lambda: {"d_model": 32, "d_ff": 64, "head_dim": 16, "fused_attention": True})
    fit: FitConfig = RERANK_FIT
    loss: str = "softmax_nll"  # one of losses.LIST_LOSSES, or a loss function (logits, labels, padding_mask) -> scalar
    debias: str = "estimated"  # one of DEBIAS
    select: str = "estimate"  # one of SELECT; "estimate" needs a randomized bucket (explore_share > 0)
    split: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0

    def __post_init__(self) -> None:
        check_prm_changes(self.prm, "DemoConfig.prm")
        if not callable(self.loss) and self.loss not in LIST_LOSSES:
            raise ValueError(f"DemoConfig.loss must be one of {sorted(LIST_LOSSES)}, got {self.loss!r}")
        if self.debias not in DEBIAS:
            raise ValueError(f"DemoConfig.debias must be one of {DEBIAS}, got {self.debias!r}")
        if self.select not in SELECT:
            raise ValueError(f"DemoConfig.select must be one of {SELECT}, got {self.select!r}")
        if self.select == "estimate" and not self.explore_share > 0:
            raise ValueError("DemoConfig.select='estimate' fits its click model on the randomized bucket: "
                             f"set explore_share > 0 (got {self.explore_share}) or select='loss'")
        if self.debias == "estimated" and not self.explore_share > 0:
            raise ValueError("DemoConfig.debias='estimated' fits the examination on the randomized bucket: "
                             f"set explore_share > 0 (got {self.explore_share}) or another debias")
        if self.debias in ("pretrained", "ipw") and not self.pretrain_position_aware:
            raise ValueError(f"DemoConfig.debias={self.debias!r} reads e_j from a position-aware pre-training: "
                             "set pretrain_position_aware=True or debias='learned'")


# The class setting's world: lists of 15 from pools of 30 (a PRM step costs about its list's length) and a stronger
# context effect. In a short list fewer same-category items sit above an item, so at the full world's lambda = 1.2
# the context weighs little: a context-blind oracle earns 0.61 of the oracle's gain in lists of 15 (0.39 in lists
# of 30) and no re-ranker learns more. At lambda = 3 it earns 0.34, and every claim of the demo holds over three
# seeds at 38 % of the full setting's cost (benchmarks/README.md, "The speed/quality frontier").
CLASS_WORLD = {"list_len": 15, "pool_size": 30, "context_penalty": 3.0}


def check_setting(setting: str, where: str) -> str:
    """`setting`, checked to be one of SETTINGS."""
    if setting not in SETTINGS:
        raise ValueError(f"{where}: setting must be one of {SETTINGS}, got {setting!r}")
    return setting


def demo_config(setting: str, seed: int, ranker: str = "personalized") -> DemoConfig:
    """The demo's settings in `setting` ("full", "class" or "fast"; see SETTINGS); `ranker` the world's initial
    ranker (see WorldConfig.ranker)."""
    setting = check_setting(setting, "demo_config")
    config = DemoConfig(seed=seed, world=WorldConfig(ranker=ranker))
    if setting == "class":  # shorter lists, a stronger context effect; the model and training of the full setting
        config = replace(config, world=replace(config.world, **CLASS_WORLD))
    if setting == "fast":  # a small world and short training: the same steps, in seconds
        config = replace(config, world=replace(config.world, n_users=600, n_items=300, n_requests=4000),
                         pretrain_requests=4000, fit=replace(RERANK_FIT, epochs=4, warmup_steps=50), prm={"d_model": 32, "d_ff": 64})
    return config


@dataclass
class MovieLensConfig:
    """Every choice of the MovieLens job. No position-bias term there: a label is a rating, given whatever the order was."""

    requests: RequestConfig = field(default_factory=RequestConfig)
    pv_models: tuple[str, ...] = ("deepfm", "fm", "fnn", "dcn")  # the first is "PRM-Personalized"; the others add rows
    prm: dict = field(default_factory=lambda: {"d_model": 64, "n_blocks": 2, "n_heads": 2, "head_dim": 32, "fused_attention": True})
    fit: FitConfig = MOVIELENS_FIT
    click_fit: FitConfig = MOVIELENS_CLICK_FIT
    loss: str = "softmax_nll"  # one of losses.LIST_LOSSES
    seed: int = 0

    def __post_init__(self) -> None:
        check_prm_changes(self.prm, "MovieLensConfig.prm")
        if not self.pv_models:
            raise ValueError("MovieLensConfig.pv_models must name at least one click model")
        if not callable(self.loss) and self.loss not in LIST_LOSSES:
            raise ValueError(f"MovieLensConfig.loss must be one of {sorted(LIST_LOSSES)}, got {self.loss!r}")


def movielens_config(setting: str, seed: int) -> MovieLensConfig:
    """The MovieLens job's settings in `setting`: "fast" pre-trains DeepFM only and trains briefly, a few seconds'
    version; "class" pre-trains DeepFM only (the rows every claim of notebook 08 but the click models' comparison
    needs) and trains as the full setting does."""
    setting = check_setting(setting, "movielens_config")
    if setting == "class":
        return MovieLensConfig(pv_models=("deepfm",), seed=seed)
    if setting == "fast":
        return MovieLensConfig(pv_models=("deepfm",), fit=replace(MOVIELENS_FIT, epochs=2, warmup_steps=20),
                               click_fit=replace(MOVIELENS_CLICK_FIT, epochs=2), seed=seed)
    return MovieLensConfig(seed=seed)
