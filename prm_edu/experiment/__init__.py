"""The two experiments: the demo on the simulated world and the table on MovieLens-100K.

    config     every setting (DemoConfig, demo_config, MovieLensConfig, movielens_config)
    prepare    the demo's world, logs, pre-trained click model and PV
    rerankers  the table's rows and the one loop that trains and scores them
    evaluate   one row per method, and the summaries over seeds
    demo       `prm-edu demo`: prepare -> train_rows -> evaluate
    movielens  `prm-edu movielens`: MovieLens requests -> click models and PV -> train_rows
"""

from prm_edu.experiment.config import DemoConfig, MovieLensConfig, demo_config, movielens_config
from prm_edu.experiment.evaluate import Comparison, compare, evaluate, mean_and_spread, paired_differences
from prm_edu.experiment.rerankers import ABLATION_ROWS, MAIN_ROWS, Reranker, logits_of, train_reranker, train_rows

__all__ = [
    "ABLATION_ROWS", "MAIN_ROWS", "Comparison", "DemoConfig", "MovieLensConfig", "Reranker", "compare", "demo_config",
    "evaluate", "logits_of", "mean_and_spread", "movielens_config", "paired_differences", "train_reranker", "train_rows",
]
