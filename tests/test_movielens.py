"""MovieLens-100K: the reader on a small fixture in every form, its errors, the requests; and the real data when present."""

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from prm_edu.data.movielens import GENRES, RequestConfig, build_requests, load_movielens

N_USERS, N_ITEMS = 40, 90
JOBS = ("artist", "engineer", "student")


def _fixture():
    """(u.data, u.user, u.item) and (ml-100k.inter, .user, .item) texts of one small data set."""
    rng = np.random.default_rng(0)
    ratings = []
    for u in range(1, N_USERS + 1):
        items = rng.choice(np.arange(1, N_ITEMS + 1), size=30, replace=False)
        start = 880_000_000 + int(rng.integers(0, 5_000_000))
        for k, i in enumerate(items):
            ratings.append((u, int(i), int(rng.integers(1, 6)), start + 1000 * k + int(rng.integers(0, 900))))
    users = [(u, int(rng.integers(15, 70)), "FM"[u % 2], JOBS[u % 3], f"{10000 + u}") for u in range(1, N_USERS + 1)]
    items = []
    for i in range(1, N_ITEMS + 1):
        flags = [0] * len(GENRES)
        for g in rng.choice(len(GENRES), size=2, replace=False):
            flags[g] = 1
        items.append((i, f"Movie {i} ({1950 + i % 50})", 1950 + i % 50, flags))
    grouplens = (
        "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in ratings),
        "".join(f"{u}|{a}|{g}|{j}|{z}\n" for u, a, g, j, z in users),
        "".join(f"{i}|{title}|01-Jan-{y}||http://x|" + "|".join(map(str, f)) + "\n" for i, title, y, f in items),
    )
    recbole = (
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n" + "".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in ratings),
        "user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n"
        + "".join(f"{u}\t{a}\t{g}\t{j}\t{z}\n" for u, a, g, j, z in users),
        "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
        + "".join(f"{i}\t{title}\t{y}\t{' '.join(GENRES[g] for g in np.flatnonzero(f))}\n" for i, title, y, f in items),
    )
    return grouplens, recbole


GROUPLENS_NAMES = ("u.data", "u.user", "u.item")
RECBOLE_NAMES = ("ml-100k.inter", "ml-100k.user", "ml-100k.item")


def _write(folder: Path, names, texts) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in zip(names, texts):
        (folder / name).write_text(text, encoding="latin-1")
    return folder


def _zip(path: Path, prefix: str, names, texts) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in zip(names, texts):
            archive.writestr(prefix + name, text)
    return path


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("ml")
    grouplens, recbole = _fixture()
    return {
        "grouplens folder": _write(root / "gl", GROUPLENS_NAMES, grouplens),
        "grouplens folder above ml-100k": _write(root / "above" / "ml-100k", GROUPLENS_NAMES, grouplens).parent,
        "grouplens zip": _zip(root / "ml-100k.zip", "ml-100k/", GROUPLENS_NAMES, grouplens),
        "recbole folder": _write(root / "rb", RECBOLE_NAMES, recbole),
        "recbole wheel": _zip(root / "recbole-1.2.1-py3-none-any.whl", "recbole/dataset_example/ml-100k/", RECBOLE_NAMES, recbole),
    }


def test_every_form_reads_the_same_data(sources):
    loaded = {name: load_movielens(path) for name, path in sources.items()}
    first = loaded["grouplens folder"]
    assert len(first) == N_USERS * 30 and first.n_users == N_USERS and first.n_items == N_ITEMS
    assert first.genres.shape == (N_ITEMS, 19) and (first.genres.sum(axis=1) == 2).all()
    for name, data in loaded.items():
        for field in ("user", "item", "rating", "timestamp", "age", "gender", "occupation", "genres", "year"):
            assert np.array_equal(getattr(data, field), getattr(first, field)), (name, field)
        assert data.occupations == tuple(sorted(JOBS))


def test_the_environment_variable_names_the_source(sources, monkeypatch):
    monkeypatch.setenv("PRM_EDU_MOVIELENS", str(sources["recbole wheel"]))
    assert load_movielens().n_users == N_USERS


def _broken(tmp_path, edit) -> Path:
    grouplens, _ = _fixture()
    texts = dict(zip(GROUPLENS_NAMES, grouplens))
    edit(texts)
    return _write(tmp_path / "bad", GROUPLENS_NAMES, [texts[n] for n in GROUPLENS_NAMES])


def _replace_line(texts, name, number, line):
    lines = texts[name].splitlines()
    lines[number - 1] = line
    texts[name] = "\n".join(lines) + "\n"


@pytest.mark.parametrize("edit, message", [
    (lambda t: _replace_line(t, "u.data", 7, "1\t2\t3"), r"u.data line 7: expected 4 fields"),
    (lambda t: _replace_line(t, "u.data", 9, "1\t2\t6\t881250949"), r"u.data line 9: rating must be an integer in 1..5"),
    (lambda t: _replace_line(t, "u.data", 3, "1\t2\t4.5\t881250949"), r"u.data line 3: rating must be an integer"),
    (lambda t: _replace_line(t, "u.data", 4, "999\t2\t3\t881250949"), r"u.data line 4: user 999 is not in u.user"),
    (lambda t: _replace_line(t, "u.data", 5, "1\t999\t3\t881250949"), r"u.data line 5: movie 999 is not in u.item"),
    (lambda t: _replace_line(t, "u.data", 6, "1\tx\t3\t881250949"), r"u.data line 6: movie id must be a number"),
    (lambda t: _replace_line(t, "u.user", 2, "2|30|X|artist|1"), r"u.user line 2: gender must be F or M"),
    (lambda t: _replace_line(t, "u.item", 3, "3|T|01-Jan-1990||u|" + "|".join(["2"] * 19)), r"u.item line 3: genre flags"),
])
def test_a_malformed_line_is_named_by_file_and_line(tmp_path, edit, message):
    with pytest.raises(ValueError, match=message):
        load_movielens(_broken(tmp_path, edit))


def test_missing_files_and_damaged_archives(tmp_path, sources):
    with pytest.raises(ValueError, match="does not exist"):
        load_movielens(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds neither"):
        load_movielens(tmp_path / "empty")
    data = sources["grouplens zip"].read_bytes()
    (tmp_path / "cut.zip").write_bytes(data[: len(data) // 2])  # a truncated download
    with pytest.raises(ValueError, match="not a readable zip archive"):
        load_movielens(tmp_path / "cut.zip")
    partial = _zip(tmp_path / "partial.zip", "ml-100k/", GROUPLENS_NAMES[:2], ["", ""])
    with pytest.raises(ValueError, match="holds neither"):
        load_movielens(partial)


def test_requests_are_split_by_time_without_leakage(sources):
    data = load_movielens(sources["grouplens folder"])
    config = RequestConfig(per_request=5, n_candidates=20, list_len=12, history_len=6)
    built = build_requests(data, config)
    periods = [built.periods[p] for p in ("early", "train", "valid", "test")]
    for before, after in zip(periods, periods[1:]):
        assert before.time.max() <= after.time.min()  # every period is later than the one before
    liked = {(u, i): t for u, i, r, t in zip(data.user, data.item, data.rating, data.timestamp) if r >= 4}
    for requests in periods:
        assert requests.items.shape[1] == 12 and (np.diff(requests.initial_scores, axis=1) <= 0).all()
        for r in range(len(requests)):
            for i in requests.history[r][requests.history[r] >= 0]:
                assert liked[(requests.users[r], i)] < requests.time[r]  # H_u holds only the past
            for i, label in zip(requests.items[r], requests.labels[r]):
                assert label == ((requests.users[r], i) in liked)  # a label is a liked rating of that user
    with pytest.raises(ValueError, match="periods"):
        RequestConfig(periods=(0.5, 0.4, 0.9))


REAL = os.environ.get("PRM_EDU_MOVIELENS")


@pytest.mark.skipif(not REAL, reason="MovieLens-100K not present: set PRM_EDU_MOVIELENS (CI does)")
def test_real_movielens_runs_end_to_end():
    from prm_edu.experiment import movielens, movielens_config

    data = load_movielens(REAL)
    assert (len(data), data.n_users, data.n_items) == (100_000, 943, 1682)
    assert set(np.unique(data.rating)) == {1, 2, 3, 4, 5}
    result = movielens.run(data, movielens_config("fast", seed=0))
    rows = result["rows"]
    assert result["n_requests"]["test"] > 500
    assert rows["PRM-Personalized"]["MAP@10"] > rows["initial order"]["MAP@10"]
