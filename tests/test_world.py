"""The simulated world: shapes, determinism, each click-model effect, the oracles, bad configs."""

import itertools
import warnings
from dataclasses import replace

import numpy as np
import pytest

from prm_edu.ceilings import ceiling_rows
from prm_edu.data.batches import concat, rerank_batch
from prm_edu.data.world import PAD, World, WorldConfig, in_initial_order, reorder

SMALL = WorldConfig(n_users=300, n_items=200, n_requests=2000)


@pytest.fixture(scope="module")
def world():
    return World(SMALL)


@pytest.fixture(scope="module")
def log(world):
    return world.sample_requests()


def test_shapes(world, log):
    cfg = SMALL
    assert world.item_features.shape == (cfg.n_items, cfg.n_categories + 2)
    assert len(world.item_feature_names) == world.item_features.shape[1]
    assert world.users.history.shape == (cfg.n_users, cfg.history_len)
    assert world.truth.taste.shape == (cfg.n_users, cfg.n_categories)
    assert log.items.shape == log.clicks.shape == log.initial_scores.shape == (cfg.n_requests, cfg.list_len)
    assert log.users.shape == (cfg.n_requests,)
    assert not log.padding_mask.any()
    # S_r is in the initial ranker's order and holds distinct items
    assert np.all(np.diff(log.initial_scores, axis=1) <= 0)
    assert all(len(set(row)) == cfg.list_len for row in log.items[:50])
    # history: distinct items, padding only at the end
    for row in world.users.history[:50]:
        real = row[row != PAD]
        assert len(set(real)) == len(real) and np.all(row[len(real):] == PAD)


def test_same_seed_same_world_other_seed_other_world():
    a, b, c = World(SMALL), World(SMALL), World(replace(SMALL, seed=1))
    log_a, log_b, log_c = a.sample_requests(), b.sample_requests(), c.sample_requests()
    np.testing.assert_array_equal(a.item_features, b.item_features)
    np.testing.assert_array_equal(a.users.history, b.users.history)
    np.testing.assert_array_equal(log_a.items, log_b.items)
    np.testing.assert_array_equal(log_a.clicks, log_b.clicks)
    assert not np.array_equal(log_a.items, log_c.items)


def test_variable_lengths_are_padded_at_the_end():
    world = World(replace(SMALL, min_list_len=5))
    log = world.sample_requests(500)
    lengths = log.lengths
    assert lengths.min() >= 5 and lengths.max() <= SMALL.list_len and len(set(lengths)) > 5
    assert np.all(log.padding_mask == (np.arange(SMALL.list_len)[None, :] >= lengths[:, None]))
    assert np.all(log.clicks[log.padding_mask] == 0)
    order = world.oracle_order(log.users, log.items)
    assert np.all(reorder(log.items, order)[log.padding_mask] == PAD)  # padding stays last
    assert np.all(np.sort(order, axis=1) == np.arange(SMALL.list_len))  # a permutation of every row


def test_split_is_by_request(log):
    train, valid, test = log.split((0.8, 0.1, 0.1), seed=0)
    assert len(train) + len(valid) + len(test) == len(log)
    assert len(valid) == pytest.approx(0.1 * len(log), abs=1)


def test_position_bias_moves_clicks():
    on = World(replace(SMALL, context=False))
    off = World(replace(SMALL, context=False, position_bias=False))
    log = on.sample_requests(200)
    flipped = log.items[:, ::-1].copy()
    p_on, p_on_flipped = on.click_probabilities(log.users, log.items), on.click_probabilities(log.users, flipped)
    # the same item earns less at the bottom than at the top
    assert np.all(p_on_flipped[:, -1] < p_on[:, 0])
    # without position bias (and context) the order does not matter
    np.testing.assert_allclose(off.expected_clicks(log.users, log.items), off.expected_clicks(log.users, flipped))
    assert np.all(on.examination(30)[:-1] > on.examination(30)[1:])


def test_personal_attractiveness_differs_between_users_only_when_on():
    on, off = World(SMALL), World(replace(SMALL, personal=False))
    items = np.tile(np.arange(10), (2, 1))
    users = np.array([0, 1])
    assert not np.allclose(on.attractiveness(users, items)[0], on.attractiveness(users, items)[1])
    np.testing.assert_allclose(off.attractiveness(users, items)[0], off.attractiveness(users, items)[1])


def test_context_lowers_an_item_below_similar_items(world):
    category = world.items.category
    same = np.flatnonzero(category == category[0])[:3]
    other = np.flatnonzero(category != category[0])[:2]
    target = same[0]
    alone = np.array([[other[0], other[1], target]])  # no similar item above the target
    crowded = np.array([[same[1], same[2], target]])  # two similar items above it
    users = np.array([0])
    assert world.click_probabilities(users, crowded)[0, 2] < world.click_probabilities(users, alone)[0, 2]
    no_context = World(replace(SMALL, context=False))
    assert no_context.click_probabilities(users, crowded)[0, 2] == pytest.approx(no_context.click_probabilities(users, alone)[0, 2])


def test_without_context_the_oracle_sorts_by_attractiveness():
    world = World(replace(SMALL, context=False))
    log = world.sample_requests(300)
    np.testing.assert_array_equal(world.oracle_order(log.users, log.items), world.context_blind_order(log.users, log.items))


@pytest.mark.parametrize("min_list_len", [None, 5])
def test_the_greedy_oracle_is_one_score_per_item(min_list_len):
    """Sorting by a - lambda * (rank of the item within its category, by a) is the greedy oracle."""
    world = World(replace(SMALL, min_list_len=min_list_len))
    log = world.sample_requests(500)
    users, items = log.users, log.items
    a = world.attractiveness(users, items)
    score = a - world.config.context_penalty * world.rank_in_category(items, a)
    by_score = np.argsort(-np.where(items == PAD, -np.inf, score), axis=1, kind="stable")
    greedy = world.oracle_order(users, items)
    np.testing.assert_allclose(world.expected_clicks(users, reorder(items, by_score)),
                               world.expected_clicks(users, reorder(items, greedy)), atol=1e-9)
    assert (world.rank_in_category(items, a)[items == PAD] == 0).all()
    with pytest.raises(ValueError, match="rank_in_category"):
        world.rank_in_category(items, a[:, :3])


def test_closed_form_expected_clicks_match_sampled_clicks(world, log):
    users, items = log.users[:20], log.items[:20]
    rng = np.random.default_rng(0)
    n = 4000
    sampled = np.mean([world.sample_clicks(users, items, rng).sum(axis=1) for _ in range(n)], axis=0)  # (20,)
    exact = world.expected_clicks(users, items)
    p = world.click_probabilities(users, items)
    stderr = np.sqrt((p * (1 - p)).sum(axis=1) / n)
    assert np.all(np.abs(sampled - exact) < 5 * stderr)


def test_greedy_oracle_is_close_to_the_best_permutation():
    world = World(replace(SMALL, list_len=6, pool_size=12))
    log = world.sample_requests(40)
    perms = np.array(list(itertools.permutations(range(6))))  # (720, 6)
    ratios = []
    for r in range(len(log)):
        candidates = log.items[r][perms]  # (720, 6)
        best = world.expected_clicks(np.full(len(perms), log.users[r]), candidates).max()
        users, items = log.users[r : r + 1], log.items[r : r + 1]
        greedy = world.expected_clicks(users, reorder(items, world.oracle_order(users, items)))[0]
        assert greedy <= best + 1e-9
        ratios.append(greedy / best)
    assert np.mean(ratios) > 0.99 and np.min(ratios) > 0.95


def test_default_world_effect_sizes():
    """In the default world, seeing the whole list is a real part of the problem: the full
    oracle's gain over the initial order beats the context-blind oracle's by at least 15%."""
    world = World()
    effects = world.effect_sizes(world.sample_requests(5000))
    assert effects["initial"] < effects["context_blind_oracle"] < effects["oracle"]
    assert effects["oracle_gain_over_blind_gain"] >= 1.15


def test_effect_sizes_without_any_order_effect_say_nan_without_a_warning():
    world = World(replace(SMALL, position_bias=False, context=False))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        effects = world.effect_sizes(world.sample_requests(200))
    assert np.isclose(effects["initial"], effects["oracle"]) and np.isnan(effects["oracle_gain_over_blind_gain"])


def test_the_personalized_ranker_makes_better_lists_than_the_item_only_one():
    """Same seed, same users and candidate pools: only the ranker, which picks and orders the top n, differs."""
    personalized = World(SMALL)
    item_only = World(replace(SMALL, ranker="item-only"))
    mine, theirs = personalized.sample_requests(1000), item_only.sample_requests(1000)
    assert np.array_equal(mine.users, theirs.users)
    assert personalized.expected_clicks(mine.users, mine.items).mean() > item_only.expected_clicks(theirs.users, theirs.items).mean() + 0.1


@pytest.mark.parametrize("ranker", ["personalized", "item-only"])
def test_the_initial_ranker_is_list_blind(ranker):
    """An item's score does not change when another candidate of its request changes."""
    world = World(replace(SMALL, ranker=ranker))
    rng = np.random.default_rng(3)
    users, items = rng.integers(SMALL.n_users, size=50), rng.integers(SMALL.n_items, size=(50, 12))
    before = world.initial_ranker_scores(users, items, np.random.default_rng(7))
    changed = items.copy()
    changed[:, 4] = (changed[:, 4] + 1) % SMALL.n_items
    after = world.initial_ranker_scores(users, changed, np.random.default_rng(7))
    others = np.arange(12) != 4
    np.testing.assert_array_equal(before[:, others], after[:, others])
    assert not np.array_equal(before[:, 4], after[:, 4])


def test_only_the_personalized_ranker_reads_the_user():
    rng = np.random.default_rng(4)
    items = rng.integers(SMALL.n_items, size=(1, 12))
    for ranker, personal_world, personal in (("personalized", True, True), ("item-only", True, False), ("personalized", False, False)):
        world = World(replace(SMALL, ranker=ranker, personal=personal_world))
        one, other = (world.initial_ranker_scores(np.array([u]), items, np.random.default_rng(7)) for u in (0, 1))
        assert (not np.allclose(one, other)) is personal


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"n_users": -1}, "n_users"),
        ({"n_items": 0}, "n_items"),
        ({"list_len": 61}, "list_len"),
        ({"pool_size": 5000}, "pool_size"),
        ({"min_list_len": 31}, "min_list_len"),
        ({"segment_reveal": 1.5}, "segment_reveal"),
        ({"segment_reveal": -0.1}, "segment_reveal"),
        ({"context_penalty": -1.0}, "context_penalty"),
        ({"quality_noise": float("nan")}, "quality_noise"),
        ({"seed": -3}, "seed"),
        ({"ranker": "popularity"}, "ranker"),
        ({"ranker_own_taste": 1.5}, "ranker_own_taste"),
    ],
)
def test_bad_config_names_the_field(changes, field):
    with pytest.raises(ValueError, match=f"WorldConfig.{field} must"):
        replace(WorldConfig(), **changes)


def test_unknown_field_and_bad_ids_raise(world):
    with pytest.raises(TypeError, match="lists"):  # dataclasses.replace names an unknown field
        replace(WorldConfig(), lists=3)
    with pytest.raises(ValueError, match="item ids"):
        world.expected_clicks(np.array([0]), np.array([[SMALL.n_items]]))
    with pytest.raises(ValueError, match="user ids"):
        world.expected_clicks(np.array([-1]), np.array([[0]]))
    with pytest.raises(ValueError, match=r"items \(R, L\)"):
        world.expected_clicks(np.array([0, 1]), np.array([[0]]))
    with pytest.raises(ValueError, match="n_requests"):
        world.sample_requests(0)


def test_a_randomized_log_goes_back_to_the_initial_order_with_its_display_positions():
    world = World(WorldConfig(n_users=50, n_items=80, pool_size=20, list_len=8, min_list_len=3))
    shown = world.sample_requests(300, seed=5, randomize=True)
    ranked, shown_at = in_initial_order(shown)
    steps = np.diff(ranked.initial_scores, axis=1)[~ranked.padding_mask[:, 1:]]  # between real neighbours
    assert (steps <= 0).all()
    assert (ranked.padding_mask == shown.padding_mask).all()  # padding stays at the end
    for r in range(len(shown)):  # slot i of the ranked list is what was displayed at shown_at[r, i]
        assert (ranked.items[r] == shown.items[r, shown_at[r]]).all()
        assert (ranked.clicks[r] == shown.clicks[r, shown_at[r]]).all()
        assert sorted(shown_at[r]) == list(range(8))
    assert (shown_at[:, 0] != 0).any()  # the lists really were shown in another order

    batch = rerank_batch(world.item_features, ranked, shown_at=shown_at)
    assert (batch.shown_at.numpy() == shown_at).all()
    assert (batch.ranks.numpy() == np.arange(8)).all()  # put back in the initial order: slot i holds rank i
    as_shown = rerank_batch(world.item_features, shown)  # fed as displayed: the ranks come from the initial scores
    assert (np.take_along_axis(as_shown.ranks.numpy(), shown_at, axis=1) == np.arange(8)).all()
    normal = rerank_batch(world.item_features, world.sample_requests(10, seed=6))
    assert len(concat([batch, normal])) == 310
    with pytest.raises(ValueError, match="shown_at"):
        rerank_batch(world.item_features, ranked, shown_at=shown_at[:, :4])


def test_ceiling_rows():
    world = World(replace(SMALL, min_list_len=5))
    log = world.sample_requests(500)
    a = world.attractiveness(log.users, log.items)
    rows = ceiling_rows(world, log.users, log.items, 2.0 * a - 1.0)  # a_hat on another scale, same order
    assert rows["a - lambda * rank in category by a (the greedy oracle)"] == pytest.approx(1.0)
    assert rows["a_hat - lambda * rank in category by a_hat"] == pytest.approx(1.0)
    assert rows["a_hat, context-blind (the pointwise re-ranker)"] == pytest.approx(rows["a, context-blind (the context-blind oracle)"])
    assert 0 < rows["a, context-blind (the context-blind oracle)"] < rows["a - lambda * n_above(initial)"] < 1
    noisy = ceiling_rows(world, log.users, log.items, a + np.random.default_rng(0).normal(0, 2.0, a.shape))
    assert noisy["a_hat, context-blind (the pointwise re-ranker)"] < rows["a_hat, context-blind (the pointwise re-ranker)"]
    with pytest.raises(ValueError, match="ceiling_rows: a_hat"):
        ceiling_rows(world, log.users, log.items, a[:, :4])
    with pytest.raises(ValueError, match="NaN"):
        ceiling_rows(world, log.users, log.items, np.full(a.shape, np.nan))
