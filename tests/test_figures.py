"""The three pictures of PRM are drawn from the configs they show."""

from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt

from prm_edu import figures
from prm_edu.ctr.base import CTRConfig
from prm_edu.prm.model import PRMConfig

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parents[1]


def _texts(fig) -> str:
    return " ".join(t.get_text() for ax in fig.axes for t in ax.texts + [ax.title])


def test_pictures_carry_the_config_they_are_given():
    config = PRMConfig(d_x=7, d_pv=5, d_model=48, n_blocks=3, n_heads=4, d_ff=96, position="sinusoidal", residual=False)
    text = _texts(figures.prm_architecture(config))
    for expected in ("3 x encoder block", "4 heads", "d_x = 7", "d_pv = 5", "(B, L, 12)", "sinusoidal PE", "(B, L, 48)"):
        assert expected in text, expected
    assert "no residual" in _texts(figures.encoder_block(config)) and "48 -> 96 -> 48" in _texts(figures.encoder_block(config))
    assert "3 cross layers" in _texts(figures.pretrain_model(CTRConfig(model="dcn", n_cross=3)))
    plt.close("all")


def test_write_assets_draws_the_three_committed_pictures(tmp_path):
    written = figures.write_assets(tmp_path)
    assert [p.name for p in written] == ["prm_architecture.png", "encoder_block.png", "pretrain_model.png"]
    readme = (ROOT / "README.md").read_text()
    for path in written:
        assert path.stat().st_size > 10_000
        assert (ROOT / "assets" / path.name).exists() and f"assets/{path.name}" in readme
