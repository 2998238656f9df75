"""The personalized module: click models whose hidden vectors become PRM's PV."""

from prm_edu.ctr.base import CTRConfig
from prm_edu.ctr.dcn import DCN
from prm_edu.ctr.deepfm import DeepFM
from prm_edu.ctr.features import CTRInputs, FeatureEncoder, FeatureSpec, inputs_from_world
from prm_edu.ctr.fm import FM, fm_interaction
from prm_edu.ctr.fnn import FNN
from prm_edu.ctr.logistic import Logistic
from prm_edu.ctr.pretrain import (
    CLICK_MODELS,
    Impressions,
    PretrainResult,
    build_click_model,
    click_model_logits,
    evaluate_click_model,
    impressions_from_log,
    pretrain,
    pv_for_lists,
)

__all__ = [
    "CLICK_MODELS", "CTRConfig", "CTRInputs", "DCN", "DeepFM", "FM", "FNN", "FeatureEncoder", "FeatureSpec", "Impressions",
    "Logistic", "PretrainResult", "build_click_model", "click_model_logits", "evaluate_click_model", "fm_interaction",
    "impressions_from_log", "inputs_from_world", "pretrain", "pv_for_lists",
]
