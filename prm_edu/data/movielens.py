"""MovieLens-100K: read it from where a user has it, and check every line.

The data may not be redistributed, so it is never part of this package. `load_movielens`
reads it in any of these forms:

- GroupLens's layout, `u.data`, `u.user`, `u.item` (tab- and |-separated), in a folder
  or in the `ml-100k.zip` archive;
- RecBole's atomic files, `ml-100k.inter`, `.user`, `.item` (tab-separated, with a
  typed header), in a folder, in an installed `recbole` package
  (`recbole/dataset_example/ml-100k`), or inside a `recbole` wheel read as a zip
  without installing it (`pip download --no-deps recbole==1.2.1` gives one).

Archives are read in memory, member by member; nothing is extracted. Every malformed
line raises `ValueError` naming the file and the line. `download_movielens` fetches
GroupLens's zip (for users with internet) and checks its published MD5.

Ids become 0-based: user u of the files is row u - 1 of the user arrays only if the ids
are 1..U; in general `user_ids[k]` is the file's id of user k (the same for items).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

GENRES = ("unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
          "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western")
GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
GROUPLENS_MD5 = "0e33842e24a9c977be4e0107933c0723"  # published by GroupLens beside the archive
ENV_VAR = "PRM_EDU_MOVIELENS"  # where to look when no source is given
GROUPLENS_FILES = ("u.data", "u.user", "u.item")
RECBOLE_FILES = ("ml-100k.inter", "ml-100k.user", "ml-100k.item")
RECBOLE_IN_PACKAGE = "recbole/dataset_example/ml-100k/"


@dataclass(frozen=True)
class MovieLens:
    """Ratings, users and movies, with 0-based ids. N ratings, U users, I movies."""

    user: np.ndarray  # (N,) int64, 0-based user
    item: np.ndarray  # (N,) int64, 0-based movie
    rating: np.ndarray  # (N,) int64 in 1..5
    timestamp: np.ndarray  # (N,) int64, seconds since 1970
    age: np.ndarray  # (U,) int64 years
    gender: np.ndarray  # (U,) int64, 0 = F, 1 = M
    occupation: np.ndarray  # (U,) int64 index into `occupations`
    occupations: tuple[str, ...]
    genres: np.ndarray  # (I, 19) float32 0/1, columns in GENRES order
    year: np.ndarray  # (I,) float64 release year, NaN where the file gives none
    user_ids: np.ndarray  # (U,) the files' user ids
    item_ids: np.ndarray  # (I,) the files' movie ids
    source: str  # where it was read from

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def __len__(self) -> int:
        return len(self.rating)


# ----- finding the files -------------------------------------------------------------------

class _Files:
    """Named text files from a folder or a zip archive (read in memory)."""

    def __init__(self, where: str, read) -> None:
        self.where, self._read = where, read

    def text(self, name: str) -> str:
        data = self._read(name)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("latin-1")  # GroupLens's u.item is latin-1


def _folder(path: Path) -> tuple[_Files, str] | None:
    for sub in (path, path / "ml-100k"):
        for layout, names in (("grouplens", GROUPLENS_FILES), ("recbole", RECBOLE_FILES)):
            if all((sub / n).is_file() for n in names):
                return _Files(str(sub), lambda name, sub=sub: (sub / name).read_bytes()), layout
    return None


def _archive(path: Path) -> tuple[_Files, str] | None:
    try:
        archive = zipfile.ZipFile(path)
        members = set(archive.namelist())
    except (zipfile.BadZipFile, OSError) as err:
        raise ValueError(f"MovieLens: {path} is not a readable zip archive ({err})") from err
    for prefix in ("ml-100k/", "", RECBOLE_IN_PACKAGE):
        for layout, names in (("grouplens", GROUPLENS_FILES), ("recbole", RECBOLE_FILES)):
            if all(prefix + n in members for n in names):

                def read(name: str, prefix=prefix) -> bytes:
                    try:
                        return archive.read(prefix + name)
                    except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as err:
                        raise ValueError(f"MovieLens: {path}: member {prefix + name} cannot be read, "
                                         f"the archive is damaged ({err})") from err

                return _Files(f"{path}:{prefix}", read), layout
    raise ValueError(f"MovieLens: {path} holds neither {', '.join(GROUPLENS_FILES)} nor {', '.join(RECBOLE_FILES)} "
                     f"(looked under 'ml-100k/', the top and '{RECBOLE_IN_PACKAGE}')")


def _installed_recbole() -> Path | None:
    spec = importlib.util.find_spec("recbole")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "dataset_example" / "ml-100k"
    return folder if folder.is_dir() else None


def locate(source: str | Path | None = None) -> tuple[_Files, str]:
    """The files and their layout ("grouplens" or "recbole") at `source`, or, when None, at
    $PRM_EDU_MOVIELENS, then in an installed recbole package."""
    if source is None:
        if os.environ.get(ENV_VAR):
            source = os.environ[ENV_VAR]
        else:
            found = _installed_recbole()
            if found is None:
                raise ValueError(f"MovieLens: no source given, ${ENV_VAR} is not set and recbole is not installed. "
                                 f"Pass a folder, ml-100k.zip or a recbole wheel (pip download --no-deps recbole==1.2.1)")
            source = found
    path = Path(source)
    if not path.exists():
        raise ValueError(f"MovieLens: {path} does not exist")
    if path.is_dir():
        found = _folder(path)
        if found is None:
            raise ValueError(f"MovieLens: folder {path} holds neither {', '.join(GROUPLENS_FILES)} nor {', '.join(RECBOLE_FILES)}")
        return found
    return _archive(path)


# ----- parsing, line by line ------------------------------------------------------------------

def _rows(files: _Files, name: str, sep: str, n_fields: int, header: bool) -> list[tuple[int, list[str]]]:
    """(line number, fields) of every non-empty line; a wrong field count names file and line."""
    lines = files.text(name).splitlines()
    if header:
        if not lines:
            raise ValueError(f"MovieLens: {files.where}/{name} is empty")
        lines_numbered = list(enumerate(lines[1:], start=2))
    else:
        lines_numbered = list(enumerate(lines, start=1))
    out = []
    for number, line in lines_numbered:
        if not line.strip():
            continue
        fields = line.split(sep)
        if len(fields) != n_fields:
            raise ValueError(f"MovieLens: {files.where}/{name} line {number}: expected {n_fields} fields separated by "
                             f"{sep!r}, got {len(fields)}: {line[:80]!r}")
        out.append((number, fields))
    if not out:
        raise ValueError(f"MovieLens: {files.where}/{name} has no data lines")
    return out


def _int(files: _Files, name: str, number: int, what: str, text: str) -> int:
    try:
        return int(float(text)) if "." in text else int(text)
    except ValueError:
        raise ValueError(f"MovieLens: {files.where}/{name} line {number}: {what} must be a number, got {text!r}") from None


def _year(text: str) -> float:
    """A release year from '01-Jan-1995' or '1995'; NaN when the file gives none (a few movies)."""
    tail = text.strip()[-4:]
    return float(tail) if tail.isdigit() else float("nan")


def _read_users(files: _Files, layout: str):
    name, sep, header = ("u.user", "|", False) if layout == "grouplens" else ("ml-100k.user", "\t", True)
    ids, ages, genders, jobs = [], [], [], []
    for number, (uid, age, gender, job, _zip) in _rows(files, name, sep, 5, header):
        ids.append(_int(files, name, number, "user id", uid))
        ages.append(_int(files, name, number, "age", age))
        if gender not in ("F", "M"):
            raise ValueError(f"MovieLens: {files.where}/{name} line {number}: gender must be F or M, got {gender!r}")
        genders.append(int(gender == "M"))
        jobs.append(job.strip())
    occupations = tuple(sorted(set(jobs)))
    return name, np.array(ids), np.array(ages), np.array(genders), np.array([occupations.index(j) for j in jobs]), occupations


def _read_items(files: _Files, layout: str):
    ids, years, genres = [], [], []
    if layout == "grouplens":
        name = "u.item"
        for number, fields in _rows(files, name, "|", 5 + len(GENRES), False):
            ids.append(_int(files, name, number, "movie id", fields[0]))
            years.append(_year(fields[2]))
            flags = fields[5:]
            if any(f not in ("0", "1") for f in flags):
                raise ValueError(f"MovieLens: {files.where}/{name} line {number}: genre flags must be 0 or 1, got {flags}")
            genres.append([float(f) for f in flags])
    else:
        name = "ml-100k.item"
        for number, (iid, _title, year, classes) in _rows(files, name, "\t", 4, True):
            ids.append(_int(files, name, number, "movie id", iid))
            years.append(_year(year))
            unknown = [c for c in classes.split() if c not in GENRES]
            if unknown:
                raise ValueError(f"MovieLens: {files.where}/{name} line {number}: unknown genre(s) {unknown}")
            genres.append([float(g in classes.split()) for g in GENRES])
    return name, np.array(ids), np.array(years, dtype=np.float64), np.array(genres, dtype=np.float32)


def _index(ids: np.ndarray, name: str, what: str, files: _Files) -> dict[int, int]:
    if len(set(ids.tolist())) != len(ids):
        raise ValueError(f"MovieLens: {files.where}/{name}: {what} ids are not unique")
    return {int(i): k for k, i in enumerate(ids)}


def load_movielens(source: str | Path | None = None) -> MovieLens:
    """Read and validate MovieLens-100K from `source` (see the module docstring for the forms)."""
    files, layout = locate(source)
    user_file, user_ids, age, gender, occupation, occupations = _read_users(files, layout)
    item_file, item_ids, year, genres = _read_items(files, layout)
    users, items = _index(user_ids, user_file, "user", files), _index(item_ids, item_file, "movie", files)
    if (age < 1).any() or (age > 120).any():
        raise ValueError(f"MovieLens: {files.where}/{user_file}: ages must be in 1..120, got {age.min()}..{age.max()}")
    name, sep, header = ("u.data", "\t", False) if layout == "grouplens" else ("ml-100k.inter", "\t", True)
    rows = _rows(files, name, sep, 4, header)
    n = len(rows)
    user, item, rating, timestamp = (np.empty(n, dtype=np.int64) for _ in range(4))
    for k, (number, (u, i, r, t)) in enumerate(rows):
        uid, iid = _int(files, name, number, "user id", u), _int(files, name, number, "movie id", i)
        if uid not in users:
            raise ValueError(f"MovieLens: {files.where}/{name} line {number}: user {uid} is not in {user_file}")
        if iid not in items:
            raise ValueError(f"MovieLens: {files.where}/{name} line {number}: movie {iid} is not in {item_file}")
        value = _int(files, name, number, "rating", r)
        if not 1 <= value <= 5 or float(r) != value:
            raise ValueError(f"MovieLens: {files.where}/{name} line {number}: rating must be an integer in 1..5, got {r!r}")
        user[k], item[k], rating[k] = users[uid], items[iid], value
        timestamp[k] = _int(files, name, number, "timestamp", t)
        if timestamp[k] < 0:
            raise ValueError(f"MovieLens: {files.where}/{name} line {number}: timestamp must be >= 0, got {t!r}")
    return MovieLens(user, item, rating, timestamp, age, gender, occupation, occupations, genres, year,
                     user_ids, item_ids, source=files.where)


def download_movielens(folder: str | Path, url: str = GROUPLENS_URL, md5: str = GROUPLENS_MD5) -> Path:
    """Fetch GroupLens's ml-100k.zip into `folder` (needs internet), check its MD5, return its path.
    Nothing in the package calls this on its own."""
    import urllib.request

    target = Path(folder) / "ml-100k.zip"
    if not target.exists():
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (a fixed https address)
            data = response.read()
        digest = hashlib.md5(data).hexdigest()
        if digest != md5:
            raise ValueError(f"download_movielens: {url} has MD5 {digest}, expected {md5}; not saved")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return target



# ----- re-ranking requests, split by time ---------------------------------------------------

@dataclass(frozen=True)
class RequestConfig:
    """How MovieLens ratings become re-ranking requests (see `build_requests`)."""

    periods: tuple[float, float, float] = (0.5, 0.8, 0.9)  # time quantiles ending: early | re-rank train | valid | test
    per_request: int = 10  # rated movies per request: a user's consecutive ratings in one period
    n_candidates: int = 50  # the rated movies plus sampled movies the user never rated
    list_len: int = 30  # S_r: the initial ranker's top list_len candidates
    history_len: int = 20  # H_u: the last movies the user liked before the request
    like: int = 4  # label 1 when rating >= like
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.periods[0] < self.periods[1] < self.periods[2] < 1:
            raise ValueError(f"RequestConfig.periods must be increasing in (0, 1), got {self.periods}")
        if not 1 <= self.per_request < self.n_candidates:
            raise ValueError(f"RequestConfig.per_request must be in [1, n_candidates), got {self.per_request}")
        if not 1 <= self.list_len <= self.n_candidates:
            raise ValueError(f"RequestConfig.list_len must be in [1, n_candidates={self.n_candidates}], got {self.list_len}")
        if not 2 <= self.like <= 5:
            raise ValueError(f"RequestConfig.like must be in 2..5, got {self.like}")


@dataclass(frozen=True)
class Requests:
    """Requests of one period: who, when, S_r in the initial order, labels, and H_u before the request."""

    users: np.ndarray  # (R,) int64
    time: np.ndarray  # (R,) int64, the request's first rating
    items: np.ndarray  # (R, L) int64 in the initial ranker's order
    initial_scores: np.ndarray  # (R, L) float32
    labels: np.ndarray  # (R, L) float32, 1 = rated >= like
    history: np.ndarray  # (R, H) int64 movies liked before `time`, most recent first, PAD = -1

    def __len__(self) -> int:
        return len(self.users)


def item_features(data: MovieLens, before: int) -> np.ndarray:
    """X (I, 22): 19 genre flags, the release year, log(1 + ratings) and the mean rating
    (shrunk towards the global mean), the last two from ratings before time `before` only."""
    early = data.timestamp < before
    count = np.bincount(data.item[early], minlength=data.n_items)
    total = np.bincount(data.item[early], weights=data.rating[early], minlength=data.n_items)
    overall = data.rating[early].mean()
    mean = (total + 5 * overall) / (count + 5)  # 5 pseudo-ratings at the global mean
    year = np.nan_to_num(data.year, nan=np.nanmedian(data.year))
    dense = np.stack([(year - year.mean()) / year.std(), np.log1p(count), mean - overall], axis=1)
    return np.concatenate([data.genres, dense.astype(np.float32)], axis=1).astype(np.float32)


class Candidates(NamedTuple):
    """One request before the initial ranker orders it."""

    user: int
    time: int  # the request's first rating
    items: np.ndarray  # (n_candidates,) movie ids: the rated ones first, then the sampled ones
    labels: np.ndarray  # (n_candidates,) float32, 1 = liked


def _candidates(data: MovieLens, config: RequestConfig, in_period: np.ndarray, popularity: np.ndarray,
                rng: np.random.Generator) -> list[Candidates]:
    """Per request of the period: user, time, candidate movies and their labels."""
    rated_ever = [set() for _ in range(data.n_users)]
    for u, i in zip(data.user.tolist(), data.item.tolist()):
        rated_ever[u].add(i)
    index = np.flatnonzero(in_period)
    index = index[np.lexsort((data.timestamp[index], data.user[index]))]  # by user, then time
    out = []
    cdf = np.cumsum(popularity) / popularity.sum()
    users, starts = np.unique(data.user[index], return_index=True)  # index is sorted by user
    for user, mine in zip(users, np.split(index, starts[1:])):
        for start in range(0, len(mine), config.per_request):
            group = mine[start : start + config.per_request]
            need = config.n_candidates - len(group)
            sampled: list[int] = []
            while len(sampled) < need:  # movies the user never rated, drawn by popularity
                draw = np.minimum(np.searchsorted(cdf, rng.random(2 * need)), data.n_items - 1)
                for i in draw.tolist():
                    if i not in rated_ever[user] and i not in sampled:
                        sampled.append(i)
            items = np.concatenate([data.item[group], np.array(sampled[:need], dtype=np.int64)])
            labels = np.concatenate([(data.rating[group] >= config.like).astype(np.float32), np.zeros(need, dtype=np.float32)])
            out.append(Candidates(int(user), int(data.timestamp[group].min()), items, labels))
    return out


def _history(data: MovieLens, users: np.ndarray, times: np.ndarray, length: int, like: int) -> np.ndarray:
    """(R, H): the movies each user liked strictly before each request's time, most recent first."""
    liked = np.flatnonzero(data.rating >= like)
    liked = liked[np.lexsort((-data.timestamp[liked], data.user[liked]))]  # by user, most recent first
    owners, starts = np.unique(data.user[liked], return_index=True)
    by_user = {int(u): (data.timestamp[rows], data.item[rows]) for u, rows in zip(owners, np.split(liked, starts[1:]))}
    empty = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
    out = np.full((len(users), length), -1, dtype=np.int64)
    for r, (u, t) in enumerate(zip(users, times)):
        stamps, items = by_user.get(int(u), empty)
        before = items[stamps < t][:length]
        out[r, : len(before)] = before
    return out


PERIODS = ("early", "train", "valid", "test")


@dataclass(frozen=True)
class BuiltRequests:
    """What `build_requests` returns."""

    features: np.ndarray  # X (I, d_x) of every movie, from the early period
    ranker: Callable[[np.ndarray], np.ndarray]  # the initial ranker: candidates' X (..., d_x) -> scores (...)
    periods: dict[str, Requests]  # one per name in PERIODS


def build_requests(data: MovieLens, config: RequestConfig | None = None, ranker=None) -> BuiltRequests:
    """Split the ratings by time and make re-ranking requests without leakage.

    Periods, by time quantiles of the ratings: "early" (item features, the initial ranker
    and the PV click model learn from it), then "train", "valid" and "test" requests to
    re-rank. For each request: the user's next `per_request` ratings in the period are
    the rated candidates; movies the user never rated, drawn with probability
    proportional to 1 + their early-period rating count (popular movies are the hard
    negatives), fill up to `n_candidates`; the initial ranker orders them (`ranker`:
    candidates' X (n, d_x) -> scores; None fits `InitialRanker` on the early period) and
    its top `list_len` are S_r. H_u holds only movies liked before the request.

    Returns the movie features X, the initial ranker and a `Requests` per period.
    """
    config = config or RequestConfig()
    rng = np.random.default_rng(config.seed)
    cuts = np.quantile(data.timestamp, config.periods)
    period = np.searchsorted(cuts, data.timestamp, side="right")  # 0 early, 1 train, 2 valid, 3 test
    features = item_features(data, before=int(cuts[0]))
    popularity = 1.0 + np.bincount(data.item[period == 0], minlength=data.n_items)
    pools = {name: _candidates(data, config, period == k, popularity, rng) for k, name in enumerate(PERIODS)}
    if ranker is None:
        ranker = InitialRanker.fit(features, pools["early"], seed=config.seed)
    periods = {}
    for name, pool in pools.items():
        users = np.array([c.user for c in pool])
        times = np.array([c.time for c in pool])
        cand = np.stack([c.items for c in pool])  # (R, n_candidates)
        labels = np.stack([c.labels for c in pool])
        scores = ranker(features[cand])  # (R, n_candidates)
        top = np.argsort(-scores, axis=1, kind="stable")[:, : config.list_len]
        periods[name] = Requests(users, times, np.take_along_axis(cand, top, 1), np.take_along_axis(scores, top, 1).astype(np.float32),
                                 np.take_along_axis(labels, top, 1), _history(data, users, times, config.history_len, config.like))
    return BuiltRequests(features, ranker, periods)


class InitialRanker:
    """The non-personalized pointwise initial ranker: logistic regression on the movie
    features X only (genres, year, early popularity and mean rating), never the user."""

    def __init__(self, weight: np.ndarray, bias: float) -> None:
        self.weight, self.bias = weight, bias

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x @ self.weight + self.bias

    @classmethod
    def fit(cls, features: np.ndarray, pool: list[Candidates], seed: int = 0, steps: int = 300) -> InitialRanker:
        import torch

        x = torch.as_tensor(features[np.concatenate([c.items for c in pool])])
        y = torch.as_tensor(np.concatenate([c.labels for c in pool]))
        generator = torch.Generator().manual_seed(seed)
        w = (0.01 * torch.randn(x.shape[1], generator=generator)).requires_grad_()
        b = torch.zeros(1, requires_grad=True)
        optimizer = torch.optim.Adam([w, b], lr=0.05)
        for _ in range(steps):
            optimizer.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(x @ w + b, y)
            loss.backward()
            optimizer.step()
        return cls(w.detach().numpy(), float(b.item()))
