"""ipywidgets explorers. The logic lives in plain functions (tested on their own); the
widgets only call them and show the result."""

from __future__ import annotations

import ipywidgets as widgets

from prm_edu.data.world import World, WorldConfig


def effect_sizes(config: WorldConfig, n_requests: int = 2000) -> dict[str, float]:
    """Expected clicks per list of the initial order and the two oracles in the world `config`."""
    world = World(config)
    return world.effect_sizes(world.sample_requests(n_requests))


def format_effects(effects: dict[str, float]) -> str:
    return (f"initial order {effects['initial']:.3f} | context-blind oracle {effects['context_blind_oracle']:.3f} | "
            f"oracle {effects['oracle']:.3f} expected clicks per list")


def world_effects_explorer(config: WorldConfig | None = None, n_requests: int = 2000) -> widgets.VBox:
    """Three check boxes, one per click-model effect; each change recomputes the effect sizes."""
    config = config or WorldConfig()
    boxes = {name: widgets.Checkbox(value=getattr(config, name), description=label)
             for name, label in (("position_bias", "position bias"), ("personal", "personal attractiveness"),
                                 ("context", "list context"))}
    out = widgets.HTML()

    def update(_=None) -> None:
        changed = config.replace(**{name: box.value for name, box in boxes.items()})
        out.value = f"<code>{format_effects(effect_sizes(changed, n_requests))}</code>"

    for box in boxes.values():
        box.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox(list(boxes.values())), out])
