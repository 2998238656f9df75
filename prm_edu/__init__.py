"""prm-edu: Personalized Re-ranking (PRM, Pei et al., RecSys 2019), piece by piece."""

from prm_edu.data.world import PAD, RequestLog, World, WorldConfig, reorder
from prm_edu.runtime import device, fast_mode, seed_everything

__version__ = "0.1.0"

__all__ = [
    "PAD",
    "RequestLog",
    "World",
    "WorldConfig",
    "device",
    "fast_mode",
    "reorder",
    "seed_everything",
]
