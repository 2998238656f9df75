"""prm-edu: Personalized Re-ranking (PRM, Pei et al., RecSys 2019), piece by piece.

The pieces live in submodules (`prm_edu.data.world`, `prm_edu.ctr`, `prm_edu.prm`,
`prm_edu.losses`, `prm_edu.metrics`, `prm_edu.baselines`, `prm_edu.train`,
`prm_edu.experiment`, `prm_edu.viz`, `prm_edu.widgets`); the names most used are here.
"""

from prm_edu.baselines import DLCM, DLCMConfig
from prm_edu.data.batches import RerankBatch, rerank_batch
from prm_edu.data.world import PAD, RequestLog, World, WorldConfig, reorder
from prm_edu.prm import PRM, PRMConfig
from prm_edu.runtime import device, fast_mode, seed_everything, setting
from prm_edu.train import FitConfig, fit

__version__ = "0.1.0"

__all__ = [
    "DLCM",
    "DLCMConfig",
    "PAD",
    "PRM",
    "PRMConfig",
    "FitConfig",
    "RequestLog",
    "RerankBatch",
    "World",
    "WorldConfig",
    "device",
    "fast_mode",
    "fit",
    "reorder",
    "rerank_batch",
    "seed_everything",
    "setting",
]
