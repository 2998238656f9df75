"""The simulated world: users, items, an initial ranker and a click model we know exactly.

Why simulate? On logged data we only see which items were clicked in the order the
initial ranker chose. Here we also know *why*, so we can ask what any other order
would have earned (expected clicks) and what the best order is (the oracle).

The pieces, and who may look at them:

- `world.items` (observable): category, standardized log-price, a noisy quality signal.
- `world.users` (observable): a profile (region, age, gender, income bucket) and a
  behaviour history H_u (items clicked before), padded with -1.
- `world.truth` (hidden; only the click model, the initial ranker and the oracles read
  it): true item quality, each user's segment, category tastes and price sensitivity,
  and the initial ranker's private estimates of item quality and of each user's taste.

The initial ranker (`WorldConfig.ranker`) scores each candidate on its own, blind to the
list. By default it is personalized, as the production rankers of the paper's setting
are: it knows the average taste of the user's observed region and part of the user's
own. "item-only" ranks by item quality alone, the same list order for every user.

The true click model. An item i shown to user u at position j (0-based) of a list is
clicked with probability

    P(click) = e_j * sigmoid(a_ui - lambda * n_same_above)

- position bias: e_j = 1 / (j + 1) ** eta  (1 for every j when switched off);
- personal attractiveness: a_ui = base + q_i + taste_u[c_i] - beta_u * price_i
  (without the personal part when switched off: every user likes the same items);
- list context: n_same_above counts the items of the same category shown above i;
  each one lowers i's attractiveness by lambda (off: lambda = 0).

Clicks of different positions are independent given the list, so the expected clicks
of a list are the sum of these probabilities, in closed form.

The oracle is greedy: it fills the list from the top, each time taking the remaining
item with the highest click probability given the items already placed above it.
With list context off, that is exactly sorting by attractiveness, which is optimal
(a decreasing e_j times independent item terms). The context-blind oracle sorts by
true attractiveness a_ui and ignores the list.

Shapes: R requests, L list length (padded; item id -1 marks padding), I items, U users.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PAD = -1  # item id of a padded slot
RANKERS = ("personalized", "item-only")  # the initial rankers a world can have
LOG_SEED_OFFSET = 1  # sample_requests' default random stream: the world's seed plus this


@dataclass(frozen=True)
class WorldConfig:
    """Every knob of the simulated world. The same config (seed included) gives the same world."""

    seed: int = 0  # one seed for the whole world; requests use seed + LOG_SEED_OFFSET unless told otherwise
    n_users: int = 2000  # U
    n_items: int = 1000  # I
    n_categories: int = 8  # C, item categories (the "similar items" of the context effect)
    n_segments: int = 6  # hidden user groups that share category tastes
    n_requests: int = 20000  # R, logged requests (50,000 take about a second to generate)
    pool_size: int = 60  # candidates per request scored by the initial ranker
    list_len: int = 30  # n, the length of S_r (the paper's lists have at most 30 items)
    min_list_len: int | None = None  # None: every list is list_len long; else lengths ~ U[min, max]
    history_len: int = 20  # most items in H_u; each user has between a quarter of it and all
    quality_noise: float = 1.0  # std of the noise on the observable quality signal
    ranker: str = "personalized"  # the initial ranker, one of RANKERS (see `World.initial_ranker_scores`)
    ranker_own_taste: float = 0.25  # personalized ranker: share of each user's own deviation from the region's taste it knows
    ranker_noise: float = 0.15  # std of the noise on the initial ranker's private quality estimate
    request_noise: float = 0.3  # std of the per-request noise on the initial ranker's scores
    segment_reveal: float = 0.6  # probability that a user's observed region equals their segment
    base_logit: float = -2.0  # attractiveness of an average item to an average user
    personal: bool = True  # effect 1 on/off: personal attractiveness (taste x item)
    taste_scale: float = 1.5  # std of the category tastes
    price_scale: float = 0.5  # std of users' price sensitivity
    position_bias: bool = True  # effect 2 on/off: examination falls with position
    position_eta: float = 0.7  # e_j = 1 / (j + 1) ** eta
    context: bool = True  # effect 3 on/off: similar items above make an item less attractive
    context_penalty: float = 1.2  # lambda: logit lost per same-category item shown above

    def __post_init__(self) -> None:
        positive = ["n_users", "n_items", "n_categories", "n_segments", "n_requests", "pool_size", "list_len", "history_len"]
        for name in positive:
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"WorldConfig.{name} must be an integer >= 1, got {value!r}")
        if not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"WorldConfig.seed must be an integer >= 0, got {self.seed!r}")
        if self.pool_size > self.n_items:
            raise ValueError(f"WorldConfig.pool_size must be in [1, n_items={self.n_items}], got {self.pool_size}")
        if self.list_len > self.pool_size:
            raise ValueError(f"WorldConfig.list_len must be in [1, pool_size={self.pool_size}], got {self.list_len}")
        if self.min_list_len is not None and not 1 <= self.min_list_len <= self.list_len:
            raise ValueError(f"WorldConfig.min_list_len must be None or in [1, list_len={self.list_len}], got {self.min_list_len}")
        if self.history_len > self.n_items:
            raise ValueError(f"WorldConfig.history_len must be in [1, n_items={self.n_items}], got {self.history_len}")
        if self.ranker not in RANKERS:
            raise ValueError(f"WorldConfig.ranker must be one of {RANKERS}, got {self.ranker!r}")
        if not 0.0 <= self.ranker_own_taste <= 1.0:
            raise ValueError(f"WorldConfig.ranker_own_taste must be a share in [0, 1], got {self.ranker_own_taste!r}")
        if not 0.0 <= self.segment_reveal <= 1.0:
            raise ValueError(f"WorldConfig.segment_reveal must be a probability in [0, 1], got {self.segment_reveal}")
        for name in ["quality_noise", "ranker_noise", "request_noise", "taste_scale", "price_scale", "position_eta", "context_penalty"]:
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"WorldConfig.{name} must be a finite number >= 0, got {value!r}")
        if not np.isfinite(self.base_logit):
            raise ValueError(f"WorldConfig.base_logit must be finite, got {self.base_logit!r}")


@dataclass(frozen=True)
class Items:
    """What anyone may see of the I items."""

    category: np.ndarray  # (I,) int64 in [0, C)
    price: np.ndarray  # (I,) float64, standardized log-price
    quality_signal: np.ndarray  # (I,) float64, true quality + noise

    def features(self, n_categories: int) -> np.ndarray:
        """X for every item: [one-hot category | price | quality signal], (I, C + 2) float32."""
        onehot = np.eye(n_categories, dtype=np.float32)[self.category]  # (I, C)
        return np.concatenate([onehot, self.price[:, None], self.quality_signal[:, None]], axis=1).astype(np.float32)


@dataclass(frozen=True)
class Users:
    """What anyone may see of the U users: a profile and the behaviour history H_u."""

    region: np.ndarray  # (U,) int64 in [0, n_segments): the hidden segment, shown with prob segment_reveal
    age: np.ndarray  # (U,) int64 in [0, 5): carries no signal (real profiles have such fields too)
    gender: np.ndarray  # (U,) int64 in [0, 2): carries no signal
    income: np.ndarray  # (U,) int64 in [0, 4): noisy quartile of (low) price sensitivity
    history: np.ndarray  # (U, history_len) int64 item ids clicked before, PAD-padded at the end


@dataclass(frozen=True)
class Truth:
    """What only the click model and the oracles may read."""

    quality: np.ndarray  # (I,) true item quality
    ranker_signal: np.ndarray  # (I,) the initial ranker's private quality estimate
    segment: np.ndarray  # (U,) hidden user segment
    taste: np.ndarray  # (U, C) category tastes
    price_sensitivity: np.ndarray  # (U,)
    ranker_taste: np.ndarray  # (U, C) the personalized initial ranker's estimate of each user's tastes
    ranker_price_sensitivity: np.ndarray  # (U,) and of their price sensitivity


@dataclass(frozen=True)
class RequestLog:
    """Logged requests: who asked, the initial list S_r, and the clicks it got.

    `items[r]` is S_r in the initial ranker's order (position 0 first); padded slots
    hold PAD (-1) and sit at the end of the row.
    """

    users: np.ndarray  # (R,) int64
    items: np.ndarray  # (R, L) int64, PAD where padded
    initial_scores: np.ndarray  # (R, L) float32, the initial ranker's scores (descending), 0 where padded
    clicks: np.ndarray  # (R, L) float32, logged clicks on the initial order, 0 where padded

    def __len__(self) -> int:
        return len(self.users)

    @property
    def padding_mask(self) -> np.ndarray:
        """(R, L) bool, True where padded."""
        return self.items == PAD

    @property
    def lengths(self) -> np.ndarray:
        """(R,) int64, the number of real items in each list."""
        return (~self.padding_mask).sum(axis=1)

    def subset(self, index: np.ndarray) -> RequestLog:
        """The requests at `index` (an integer array or a boolean mask over requests)."""
        return RequestLog(self.users[index], self.items[index], self.initial_scores[index], self.clicks[index])

    def split_indices(self, fractions: tuple[float, ...] = (0.8, 0.1, 0.1), seed: int = 0) -> tuple[np.ndarray, ...]:
        """Request indices of a random split by request (never inside one list), one sorted array per part."""
        if any(f <= 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
            raise ValueError(f"split fractions must be positive and sum to 1, got {fractions}")
        order = np.random.default_rng(seed).permutation(len(self))
        cuts = np.round(np.cumsum(fractions)[:-1] * len(self)).astype(int)
        return tuple(np.sort(part) for part in np.split(order, cuts))

    def split(self, fractions: tuple[float, ...] = (0.8, 0.1, 0.1), seed: int = 0) -> tuple[RequestLog, ...]:
        """The parts of `split_indices` as request logs."""
        return tuple(self.subset(part) for part in self.split_indices(fractions, seed))


def reorder(items: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Apply `order` (R, L), indices into each row, to `items` (R, L): row r becomes items[r, order[r]]."""
    if items.shape != order.shape:
        raise ValueError(f"reorder: items {items.shape} and order {order.shape} must have the same shape")
    return np.take_along_axis(items, order, axis=1)


def initial_order(log: RequestLog) -> np.ndarray:
    """(R, L) the slot holding each initial rank: sorted by initial score, best first, padding last;
    ties keep the slot order, so a log in the initial order gets 0 .. L-1 in every row."""
    keys = np.where(log.padding_mask, np.inf, -log.initial_scores)
    return np.argsort(keys, axis=1, kind="stable")


def in_initial_order(log: RequestLog) -> tuple[RequestLog, np.ndarray]:
    """A log shown in some other order (e.g. `randomize=True`) put back in the initial ranker's order.

    Returns the reordered log (items, scores and clicks sorted by initial score, padding last)
    and `shown_at` (R, L): the position at which each slot's item was displayed.
    """
    shown_at = initial_order(log)  # (R, L) display index of the item of initial rank i
    take = lambda a: np.take_along_axis(a, shown_at, axis=1)  # noqa: E731
    return RequestLog(log.users, take(log.items), take(log.initial_scores), take(log.clicks)), shown_at


def _shrink_to_group(values: np.ndarray, group: np.ndarray, own_share: float) -> np.ndarray:
    """Each row of `values` (U, k) pulled towards its group's mean: mean + own_share * (row - mean)."""
    means = np.zeros((group.max() + 1, values.shape[1]))
    np.add.at(means, group, values)
    means /= np.maximum(np.bincount(group, minlength=len(means)), 1)[:, None]
    return means[group] + own_share * (values - means[group])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1 / (1 + exp(-z)), without overflow warnings


class World:
    """Users, items and the true click model, all drawn from `config` (see the module docstring)."""

    def __init__(self, config: WorldConfig | None = None) -> None:
        self.config = config if config is not None else WorldConfig()
        rng = np.random.default_rng(self.config.seed)
        quality, ranker_signal = self._make_items(rng)
        self._make_users(rng, quality, ranker_signal)

    # ----- building the world -------------------------------------------------------
    def _make_items(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Sets `self.items`; returns the hidden true quality and the initial ranker's estimate of it, (I,) each."""
        cfg = self.config
        category = rng.integers(cfg.n_categories, size=cfg.n_items)
        category_price = rng.normal(0.0, 0.7, size=cfg.n_categories)  # some categories are dearer
        log_price = category_price[category] + rng.normal(0.0, 0.5, size=cfg.n_items)
        price = (log_price - log_price.mean()) / log_price.std()
        quality = rng.normal(0.0, 1.0, size=cfg.n_items)
        quality_signal = quality + rng.normal(0.0, cfg.quality_noise, size=cfg.n_items)
        ranker_signal = quality + rng.normal(0.0, cfg.ranker_noise, size=cfg.n_items)
        self.items = Items(category=category, price=price, quality_signal=quality_signal)
        return quality, ranker_signal

    def _make_users(self, rng: np.random.Generator, quality: np.ndarray, ranker_signal: np.ndarray) -> None:
        """Sets `self.truth` and `self.users`."""
        cfg = self.config
        segment = rng.integers(cfg.n_segments, size=cfg.n_users)
        segment_taste = rng.normal(0.0, 1.0, size=(cfg.n_segments, cfg.n_categories))
        taste = cfg.taste_scale * (segment_taste[segment] + rng.normal(0.0, 0.5, size=(cfg.n_users, cfg.n_categories)))
        price_sensitivity = rng.normal(0.0, cfg.price_scale, size=cfg.n_users)
        revealed = rng.random(cfg.n_users) < cfg.segment_reveal
        region = np.where(revealed, segment, rng.integers(cfg.n_segments, size=cfg.n_users))
        ranker_taste = _shrink_to_group(taste, region, cfg.ranker_own_taste)
        ranker_price_sensitivity = _shrink_to_group(price_sensitivity[:, None], region, cfg.ranker_own_taste)[:, 0]
        self.truth = Truth(quality, ranker_signal, segment, taste, price_sensitivity, ranker_taste, ranker_price_sensitivity)

        noisy_thrift = price_sensitivity + rng.normal(0.0, cfg.price_scale, size=cfg.n_users)
        income = 3 - np.searchsorted(np.quantile(noisy_thrift, [0.25, 0.5, 0.75]), noisy_thrift)
        history = self._sample_history(rng)  # reads self.truth
        self.users = Users(region=region, age=rng.integers(5, size=cfg.n_users),
                           gender=rng.integers(2, size=cfg.n_users), income=income, history=history)

    def _sample_history(self, rng: np.random.Generator) -> np.ndarray:
        """H_u: items each user clicked before, drawn without replacement with P ∝ exp(a_ui) (Gumbel top-k)."""
        cfg = self.config
        lengths = rng.integers(max(1, cfg.history_len // 4), cfg.history_len + 1, size=cfg.n_users)
        history = np.full((cfg.n_users, cfg.history_len), PAD, dtype=np.int64)
        all_items = np.arange(cfg.n_items)
        for start in range(0, cfg.n_users, 1000):  # chunks keep the (chunk, I) matrix small
            users = np.arange(start, min(start + 1000, cfg.n_users))
            a = self.attractiveness(users, np.broadcast_to(all_items, (len(users), cfg.n_items)))  # (chunk, I)
            keys = a + rng.gumbel(size=a.shape)
            top = np.argsort(-keys, axis=1)[:, : cfg.history_len]  # (chunk, history_len)
            keep = np.arange(cfg.history_len) < lengths[users, None]
            history[users] = np.where(keep, top, PAD)
        return history

    # ----- observable views -----------------------------------------------------------
    @property
    def item_features(self) -> np.ndarray:
        """X for every item, (I, d_x) float32; `item_feature_names` names the columns."""
        return self.items.features(self.config.n_categories)

    @property
    def item_feature_names(self) -> list[str]:
        return [f"category_{c}" for c in range(self.config.n_categories)] + ["price", "quality_signal"]

    # ----- the true click model -----------------------------------------------------------
    def _check_lists(self, users: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        users, items = np.asarray(users), np.asarray(items)
        if items.ndim != 2 or users.shape != items.shape[:1]:
            raise ValueError(f"expected users (R,) and items (R, L), got users {users.shape} and items {items.shape}")
        if users.size and (users.min() < 0 or users.max() >= self.config.n_users):
            raise ValueError(f"user ids must be in [0, {self.config.n_users}), got range [{users.min()}, {users.max()}]")
        if items.size and (items.min() < PAD or items.max() >= self.config.n_items):
            raise ValueError(f"item ids must be in [0, {self.config.n_items}) or PAD={PAD}, got range [{items.min()}, {items.max()}]")
        return users, items

    def attractiveness(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """a_ui, the true attractiveness logit of each item to its request's user: (R, L), 0 where padded."""
        users, items = self._check_lists(users, items)
        cfg, truth = self.config, self.truth
        safe = np.where(items == PAD, 0, items)  # (R, L) ids usable as indices
        a = cfg.base_logit + truth.quality[safe]
        if cfg.personal:
            taste = np.take_along_axis(truth.taste[users], self.items.category[safe], axis=1)  # (R, L)
            a = a + taste - truth.price_sensitivity[users, None] * self.items.price[safe]
        return np.where(items == PAD, 0.0, a)

    def examination(self, length: int) -> np.ndarray:
        """e_j for positions j = 0 .. length-1, (length,)."""
        if not self.config.position_bias:
            return np.ones(length)
        return 1.0 / (np.arange(length) + 1.0) ** self.config.position_eta

    def same_category_above(self, items: np.ndarray) -> np.ndarray:
        """For each slot, how many items of its category are shown above it: (R, L) int64."""
        safe = np.where(items == PAD, 0, items)
        onehot = np.eye(self.config.n_categories, dtype=np.int64)[self.items.category[safe]]  # (R, L, C)
        onehot[items == PAD] = 0
        above = np.cumsum(onehot, axis=1) - onehot  # (R, L, C) counts strictly above
        return (above * onehot).sum(axis=2)  # (R, L)

    def rank_in_category(self, items: np.ndarray, score: np.ndarray) -> np.ndarray:
        """For each slot, how many items of its category in the same list have a higher `score`: (R, L) int64.

        With score = a_ui this gives the greedy oracle as one score per item: sorting by
        a_ui - lambda * rank_in_category(items, a_ui) is the oracle's order (within a category
        the items go down in the order of a, each lambda lower than the one before, and the
        greedy oracle merges those runs). A one-pass, list-aware scorer can express it.
        """
        if np.shape(score) != np.shape(items):
            raise ValueError(f"rank_in_category: items {np.shape(items)} and score {np.shape(score)} must have the same shape")
        real = items != PAD
        category = np.where(real, self.items.category[np.where(real, items, 0)], -1)  # (R, L), -1 at padding
        same = (category[:, :, None] == category[:, None, :]) & real[:, None, :]  # (R, L, L) [r, i, j]: j is i's category
        higher = score[:, None, :] > score[:, :, None]  # (R, L, L) [r, i, j]: j scores above i
        return np.where(real, (same & higher).sum(axis=2), 0)

    def click_probabilities(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """P(click) of every slot when `items` (R, L) are shown in this order: (R, L), 0 where padded."""
        a = self.attractiveness(users, items)  # checks the inputs
        if self.config.context:
            a = a - self.config.context_penalty * self.same_category_above(items)
        p = self.examination(items.shape[1])[None, :] * _sigmoid(a)
        return np.where(items == PAD, 0.0, p)

    def expected_clicks(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Expected clicks of each list shown in the given order, (R,), in closed form."""
        return self.click_probabilities(users, items).sum(axis=1)

    def sample_clicks(self, users: np.ndarray, items: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Clicks drawn from the true model for lists shown in the given order: (R, L) float32."""
        p = self.click_probabilities(users, items)
        return (rng.random(p.shape) < p).astype(np.float32)

    # ----- orderings ------------------------------------------------------------------
    def context_blind_order(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Order (R, L) sorting each list by true attractiveness a_ui; padding stays last."""
        a = self.attractiveness(users, items)
        a = np.where(items == PAD, -np.inf, a)
        return np.argsort(-a, axis=1, kind="stable")

    def oracle_order(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """The greedy oracle's order (R, L): top-down, the item with the highest click probability
        given the items placed above it. Padding stays last."""
        a = self.attractiveness(users, items)  # (R, L)
        cfg = self.config
        penalty = cfg.context_penalty if cfg.context else 0.0
        n_rows, length = items.shape
        rows = np.arange(n_rows)
        category = self.items.category[np.where(items == PAD, 0, items)]  # (R, L)
        placed = items == PAD  # (R, L) True once taken (padding is never taken)
        counts = np.zeros((n_rows, cfg.n_categories))  # (R, C) items of each category placed so far
        order = np.tile(np.arange(length), (n_rows, 1))  # padded slots keep their own index
        n_real = (~placed).sum(axis=1)
        for j in range(length):
            active = j < n_real  # (R,) rows that still have items to place
            if not active.any():
                break
            logit = a - penalty * np.take_along_axis(counts, category, axis=1)  # (R, L)
            pick = np.argmax(np.where(placed, -np.inf, logit), axis=1)  # (R,)
            order[active, j] = pick[active]
            placed[rows[active], pick[active]] = True
            counts[rows[active], category[rows[active], pick[active]]] += 1
        return order

    # ----- requests -------------------------------------------------------------------
    def initial_ranker_scores(self, users: np.ndarray, items: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The initial ranker's scores (R, P) of each request's candidates `items` (R, P): pointwise and
        list-blind (an item's score never depends on the other candidates), plus per-request noise.

        - "personalized" (the paper's setting: a production CTR model): its own quality estimate of
          the item plus its estimate of the user's taste for the item's category and price. It knows
          the average taste of the user's observed region and `ranker_own_taste` of the user's own
          deviation from it; a re-ranker that reads PV can know more.
        - "item-only": the quality estimate alone, the same for every user (as is the personalized
          ranker when the world has no personal attractiveness, `personal=False`).
        """
        cfg = self.config
        scores = self.truth.ranker_signal[items]  # (R, P)
        if cfg.ranker == "personalized" and cfg.personal:  # without personal tastes there is nothing to personalize
            taste = np.take_along_axis(self.truth.ranker_taste[users], self.items.category[items], axis=1)  # (R, P)
            scores = scores + taste - self.truth.ranker_price_sensitivity[users, None] * self.items.price[items]
        return scores + rng.normal(0.0, cfg.request_noise, size=items.shape)

    def sample_requests(self, n_requests: int | None = None, seed: int | None = None, randomize: bool = False) -> RequestLog:
        """Draw requests, rank each pool with the initial ranker, keep the top n as S_r and log clicks on it.

        `randomize=True` shows every S_r in a random order instead (and logs it in that order),
        as a small exploration bucket does in production: with the order independent of the
        items, the click rate at each position measures the position bias alone.
        """
        cfg = self.config
        n = cfg.n_requests if n_requests is None else n_requests
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n_requests must be an integer >= 1, got {n!r}")
        rng = np.random.default_rng(cfg.seed + LOG_SEED_OFFSET if seed is None else seed)
        users = rng.integers(cfg.n_users, size=n)
        items = np.empty((n, cfg.list_len), dtype=np.int64)
        scores = np.empty((n, cfg.list_len))
        for start in range(0, n, 4096):  # a (chunk, I) key matrix at a time
            stop = min(start + 4096, n)
            keys = rng.random((stop - start, cfg.n_items))
            pool = np.argpartition(keys, cfg.pool_size - 1, axis=1)[:, : cfg.pool_size]  # (chunk, pool) uniform pool
            pool_scores = self.initial_ranker_scores(users[start:stop], pool, rng)
            top = np.argsort(-pool_scores, axis=1)[:, : cfg.list_len]  # (chunk, L) best first
            items[start:stop] = np.take_along_axis(pool, top, axis=1)
            scores[start:stop] = np.take_along_axis(pool_scores, top, axis=1)
        if cfg.min_list_len is not None:
            lengths = rng.integers(cfg.min_list_len, cfg.list_len + 1, size=n)
            padded = np.arange(cfg.list_len)[None, :] >= lengths[:, None]
            items[padded] = PAD
            scores[padded] = 0.0
        if randomize:
            keys = np.where(items == PAD, np.inf, rng.random(items.shape))  # padding stays last
            shuffle = np.argsort(keys, axis=1)
            items, scores = reorder(items, shuffle), np.take_along_axis(scores, shuffle, axis=1)
        clicks = self.sample_clicks(users, items, rng)
        return RequestLog(users=users, items=items, initial_scores=scores.astype(np.float32), clicks=clicks)

    # ----- the size of each effect -----------------------------------------------------------
    def effect_sizes(self, log: RequestLog) -> dict[str, float]:
        """Expected clicks per list of the initial order, the context-blind oracle and the full oracle."""
        initial = self.expected_clicks(log.users, log.items).mean()
        blind = self.expected_clicks(log.users, reorder(log.items, self.context_blind_order(log.users, log.items))).mean()
        oracle = self.expected_clicks(log.users, reorder(log.items, self.oracle_order(log.users, log.items))).mean()
        return {
            "initial": float(initial),
            "context_blind_oracle": float(blind),
            "oracle": float(oracle),
            "logged_clicks": float(log.clicks.sum(axis=1).mean()),
            # nan where the context-blind oracle gains nothing (e.g. without position bias and list context)
            "oracle_gain_over_blind_gain": float((oracle - initial) / (blind - initial)) if not np.isclose(blind, initial) else float("nan"),
        }
