"""What a click model sees of one impression (a user shown an item), and how it is embedded.

Fields (one k-dimensional embedding each, the input of FM, FNN, DeepFM and DCN):
- user profile fields (categorical): region, age, gender, income;
- item fields (categorical): item id, category;
- dense item fields: price, quality signal, each embedded as value x vector (as FM does);
- the behaviour history H_u, pooled into one more field: the **mean of the item-id
  embeddings of the items the user clicked before**. The history shares its embedding
  table with the candidate's item id, so FM's inner product <history, item> reads
  "does this item look like what this user clicked before?". (Attention over the
  history against the candidate, as in DIN, is the richer alternative; the mean is
  the one every student can compute by hand.)

`FeatureSpec` is frozen data: names, vocabulary sizes, the longest history. Modules
own their parameters. `CTRInputs` is one batch of N impressions; `validate` raises a
`ValueError` naming the field for values outside the vocabulary, NaN dense values or
a history longer than declared.

Shapes: N impressions, F fields, k embedding width, H history length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from prm_edu.data.world import PAD, World

PROFILE_FIELDS = ("region", "age", "gender", "income")


@dataclass(frozen=True)
class FeatureSpec:
    """The fields of an impression. `user_fields`, `item_fields`: (name, vocabulary size) pairs."""

    user_fields: tuple[tuple[str, int], ...]
    item_fields: tuple[tuple[str, int], ...]
    dense_fields: tuple[str, ...]
    n_items: int  # vocabulary of item ids (history entries and the "item_id" field)
    history_len: int  # the longest H_u; 0 = no history field

    def __post_init__(self) -> None:
        if not any(name == "item_id" for name, _ in self.item_fields) and self.history_len > 0:
            raise ValueError("FeatureSpec: a history field needs an 'item_id' item field to share its embeddings")
        for name, size in self.user_fields + self.item_fields:
            if size < 1:
                raise ValueError(f"FeatureSpec: field {name!r} needs a vocabulary size >= 1, got {size}")

    @property
    def n_fields(self) -> int:
        """F: one embedding per categorical field, per dense field, and one for the pooled history."""
        return len(self.user_fields) + len(self.item_fields) + len(self.dense_fields) + (1 if self.history_len else 0)

    @property
    def item_id_column(self) -> int:
        return [name for name, _ in self.item_fields].index("item_id")

    @classmethod
    def for_world(cls, world: World, profile: bool = True, history: bool = True) -> FeatureSpec:
        """The world's fields; `profile=False`/`history=False` leave the user's side out."""
        users = world.users
        user_fields = tuple((name, int(getattr(users, name).max()) + 1) for name in PROFILE_FIELDS) if profile else ()
        item_fields = (("item_id", world.config.n_items), ("category", world.config.n_categories))
        return cls(user_fields, item_fields, ("price", "quality_signal"), world.config.n_items,
                   world.config.history_len if history else 0)


@dataclass
class CTRInputs:
    """A batch of N impressions, as tensors."""

    user: torch.Tensor  # (N, n_user_fields) int64
    item: torch.Tensor  # (N, n_item_fields) int64
    dense: torch.Tensor  # (N, n_dense) float32
    history: torch.Tensor  # (N, H) int64 item ids, PAD (-1) where empty

    def __len__(self) -> int:
        return self.item.shape[0]

    def __getitem__(self, index) -> CTRInputs:
        return CTRInputs(self.user[index], self.item[index], self.dense[index], self.history[index])

    def to(self, device: torch.device | str) -> CTRInputs:
        return CTRInputs(self.user.to(device), self.item.to(device), self.dense.to(device), self.history.to(device))

    def validate(self, spec: FeatureSpec) -> CTRInputs:
        """Raise ValueError naming the field of any value the spec does not allow; return self."""
        n = len(self)
        expected = {"user": (n, len(spec.user_fields)), "item": (n, len(spec.item_fields)), "dense": (n, len(spec.dense_fields))}
        for part, shape in expected.items():
            if tuple(getattr(self, part).shape) != shape:
                raise ValueError(f"CTRInputs.{part} must have shape {shape}, got {tuple(getattr(self, part).shape)}")
        for part, fields in (("user", spec.user_fields), ("item", spec.item_fields)):
            values = getattr(self, part)
            for column, (name, size) in enumerate(fields):
                bad = (values[:, column] < 0) | (values[:, column] >= size)
                if bad.any():
                    row = int(bad.nonzero()[0, 0])
                    value = int(values[row, column])
                    raise ValueError(f"{part} field {name!r} has value {value} at row {row}, outside its vocabulary [0, {size})")
        for column, name in enumerate(spec.dense_fields):
            if torch.isnan(self.dense[:, column]).any():
                row = int(torch.isnan(self.dense[:, column]).nonzero()[0, 0])
                raise ValueError(f"dense field {name!r} is NaN at row {row}")
        if self.history.shape[1] > spec.history_len:
            raise ValueError(
                f"history has {self.history.shape[1]} columns, longer than its declared maximum history_len={spec.history_len}"
            )
        bad = (self.history < PAD) | (self.history >= spec.n_items)
        if bad.any():
            raise ValueError(f"history holds item ids outside [0, {spec.n_items}) (or PAD={PAD})")
        return self


def inputs_from_world(world: World, spec: FeatureSpec, users: np.ndarray, items: np.ndarray) -> CTRInputs:
    """Impressions (users[n], items[n]) of the world as validated `CTRInputs` (N = len(users))."""
    users, items = np.asarray(users), np.asarray(items)
    if users.shape != items.shape or users.ndim != 1:
        raise ValueError(f"inputs_from_world: users and items must be equal-length 1-D arrays, got {users.shape} and {items.shape}")
    if (items < 0).any():
        raise ValueError("inputs_from_world: items must be real item ids (drop padded slots first)")
    user = np.stack([getattr(world.users, name)[users] for name, _ in spec.user_fields], axis=1) if spec.user_fields \
        else np.zeros((len(users), 0), dtype=np.int64)
    item_columns = {"item_id": items, "category": world.items.category[items]}
    item = np.stack([item_columns[name] for name, _ in spec.item_fields], axis=1)
    dense = np.stack([getattr(world.items, name)[items] for name in spec.dense_fields], axis=1)
    history = world.users.history[users][:, : spec.history_len]
    inputs = CTRInputs(torch.as_tensor(user, dtype=torch.long), torch.as_tensor(item, dtype=torch.long),
                       torch.as_tensor(dense, dtype=torch.float32), torch.as_tensor(history, dtype=torch.long))
    return inputs.validate(spec)


class FeatureEncoder(nn.Module):
    """Embeds every field of an impression: `embed` gives (N, F, k), `first_order` gives (N,).

    All categorical fields share one embedding table, each field owning a slice of
    rows that starts at its offset (one lookup instead of one per field: the same
    numbers, several times faster to train).
    """

    def __init__(self, spec: FeatureSpec, embed_dim: int) -> None:
        super().__init__()
        if embed_dim < 1:
            raise ValueError(f"FeatureEncoder: embed_dim must be >= 1, got {embed_dim}")
        self.spec, self.embed_dim = spec, embed_dim
        sizes = [size for _, size in spec.user_fields + spec.item_fields]
        self.register_buffer("offsets", torch.tensor([0, *sizes[:-1]]).cumsum(0), persistent=False)  # (n_categorical,)
        self.item_id_offset = sum(sizes[: len(spec.user_fields) + spec.item_id_column]) if spec.history_len else 0
        self.vectors = nn.Embedding(sum(sizes), embed_dim)  # v_f of every value of every field
        self.weights = nn.Embedding(sum(sizes), 1)  # w_f (first order)
        self.dense_vectors = nn.Parameter(torch.empty(len(spec.dense_fields), embed_dim))  # (n_dense, k)
        self.dense_weights = nn.Parameter(torch.zeros(len(spec.dense_fields)))  # (n_dense,)
        nn.init.normal_(self.vectors.weight, std=0.05)
        nn.init.zeros_(self.weights.weight)
        nn.init.normal_(self.dense_vectors, std=0.05)

    def _rows(self, inputs: CTRInputs) -> torch.Tensor:
        return torch.cat([inputs.user, inputs.item], dim=1) + self.offsets  # (N, n_categorical) rows of the tables

    def pooled_history(self, inputs: CTRInputs) -> torch.Tensor:
        """Mean of the item-id embeddings of H_u: (N, k); zeros for an empty history."""
        real = inputs.history != PAD  # (N, H)
        vectors = self.vectors(inputs.history.clamp(min=0) + self.item_id_offset) * real.unsqueeze(-1)  # (N, H, k)
        return vectors.sum(dim=1) / real.sum(dim=1, keepdim=True).clamp(min=1)  # (N, k)

    def embed(self, inputs: CTRInputs) -> torch.Tensor:
        """All field embeddings, (N, F, k): categorical, then dense (x_f v_f), then the pooled history."""
        fields = [self.vectors(self._rows(inputs)), inputs.dense.unsqueeze(-1) * self.dense_vectors]  # (N, n_cat, k), (N, n_dense, k)
        if self.spec.history_len:
            fields.append(self.pooled_history(inputs).unsqueeze(1))  # (N, 1, k)
        return torch.cat(fields, dim=1)  # (N, F, k)

    def first_order(self, inputs: CTRInputs) -> torch.Tensor:
        """Sum of first-order terms w_f x_f over categorical and dense fields, (N,)."""
        return self.weights(self._rows(inputs)).sum(dim=(1, 2)) + inputs.dense @ self.dense_weights
