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
    assert "pv_i = [FM interaction 8 ; MLP last hidden 32], 40 wide" in _texts(figures.pretrain_model(CTRConfig(model="deepfm"), d_pv=40))
    plt.close("all")


def test_write_assets_draws_the_three_committed_pictures(tmp_path):
    written = figures.write_assets(tmp_path)
    assert [p.name for p in written] == ["prm_architecture.png", "encoder_block.png", "pretrain_model.png"]
    readme = (ROOT / "README.md").read_text()
    plt.close("all")
    from prm_edu.experiment import demo_config

    demo = PRMConfig(d_x=10, d_pv=40, **demo_config("full", 0).prm)  # the pictures show the demo's PRM
    assert f"{demo.n_heads} heads of width {demo.head_dim}" in _texts(figures.encoder_block(demo))
    assert "2 heads of width 16" in _texts(figures.encoder_block(demo))  # as README.md and notebook 05 say
    for path in written:
        assert path.stat().st_size > 10_000
        assert (ROOT / "assets" / path.name).exists() and f"assets/{path.name}" in readme


def test_results_table_for_notebooks_marks_the_best_learned_row():
    from prm_edu.viz import best_learned, table_frame

    rows = {"initial order": {"gain": 0.0, "MAP@10": 0.73}, "DLCM": {"gain": 0.09, "MAP@10": 0.734},
            "PRM-Personalized": {"gain": 0.46, "MAP@10": 0.730}, "oracle (greedy)": {"gain": 1.0, "MAP@10": 0.62}}
    assert best_learned(rows) == {"gain": "PRM-Personalized", "MAP@10": "DLCM"}  # oracles and the initial order never win
    styled = table_frame(rows, {name: {"gain": 0.05, "MAP@10": 0.002} for name in rows})
    assert styled.data.loc["PRM-Personalized", "gain"] == "0.460 ± 0.050"
    assert "font-weight: bold" in styled.to_html()
