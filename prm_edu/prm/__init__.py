"""PRM itself: input layer, self-attention, encoder blocks, the model."""

from prm_edu.prm.attention import MultiHeadAttention, scaled_dot_product_attention
from prm_edu.prm.encoder import EncoderBlock
from prm_edu.prm.input_layer import InputLayer, sinusoidal_table
from prm_edu.prm.model import PRM, PRMConfig, masked_softmax

__all__ = ["EncoderBlock", "InputLayer", "MultiHeadAttention", "PRM", "PRMConfig", "masked_softmax", "scaled_dot_product_attention",
           "sinusoidal_table"]
