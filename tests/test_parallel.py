"""Rows trained side by side give the numbers of rows trained one after another (one torch thread each)."""

import sys
from dataclasses import replace

import pytest
import torch
from test_experiment import TINY  # the tiny demo config of the experiment tests

from prm_edu.experiment import Reranker, train_rows
from prm_edu.experiment.parallel import run_jobs, workers
from prm_edu.experiment.prepare import prepare
from prm_edu.runtime import WORKERS_ENV

ROWS = {"DLCM": Reranker("dlcm", False), "PRM-BASE": Reranker("prm", False), "PRM-Personalized": Reranker("prm", True)}


@pytest.fixture(scope="module")
def prepared():
    return prepare(TINY, progress=False)


def _train(prepared, n_workers: int, fit=TINY.fit):
    splits = {"train": prepared.train, "valid": prepared.valid, "test": prepared.test}
    return train_rows(ROWS, splits, prm=TINY.prm, fit_config=fit, loss=TINY.loss, debias=TINY.debias, seed=3,
                      examinations=prepared.examinations, select=prepared.select, workers=n_workers)


def test_side_by_side_equals_one_after_another(prepared):
    assert torch.get_num_threads() == 1  # tests/conftest.py: the sequential run has the workers' one thread
    fit = replace(TINY.fit, epochs=2, patience=5)
    alone, side_by_side = _train(prepared, 1, fit), _train(prepared, 2, fit)
    assert list(side_by_side.histories) == list(ROWS)  # the rows' order, whichever finished first
    for name in ROWS:
        strip = lambda history: [{k: v for k, v in e.items() if k != "seconds"} for e in history.epochs]  # noqa: E731
        assert strip(alone.histories[name]) == strip(side_by_side.histories[name]), name
        assert len(alone.histories[name].epochs) == 2
        assert torch.equal(alone.test_logits[name], side_by_side.test_logits[name]), name
        for key, value in alone.models[name].state_dict().items():
            assert torch.equal(value, side_by_side.models[name].state_dict()[key]), (name, key)
        assert not side_by_side.models[name].training


def test_a_failing_row_fails_the_job(prepared):
    def broken(logits, labels, padding_mask):
        raise ValueError("this loss refuses")

    splits = {"train": prepared.train, "valid": prepared.valid, "test": prepared.test}
    with pytest.raises(ValueError, match="this loss refuses"):
        train_rows(ROWS, splits, prm=TINY.prm, fit_config=TINY.fit, loss=broken, debias=TINY.debias, seed=0,
                   examinations=prepared.examinations, workers=2)


def test_jobs_report_their_epochs_in_order():
    def job(epochs):
        def run(on_epoch):
            for epoch in range(epochs):
                on_epoch({"epoch": epoch, "loss": 1.0 / (epoch + 1)})
            return epochs
        return run

    jobs = {"short": job(1), "long": job(3), "middle": job(2)}
    for n_workers in (1, 2):
        done = run_jobs(jobs, epochs=3, workers=n_workers, progress=True)
        assert list(done) == ["short", "long", "middle"]
        assert [result for result, _ in done.values()] == [1, 3, 2]


def test_workers_setting(monkeypatch):
    monkeypatch.setenv(WORKERS_ENV, "3")
    assert workers(5) == 3 and workers(2) == 2
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(WORKERS_ENV, bad)
        with pytest.raises(ValueError, match=WORKERS_ENV):
            workers(5)
    monkeypatch.delenv(WORKERS_ENV)
    assert 1 <= workers(5) <= 5
    monkeypatch.setenv(WORKERS_ENV, "3")
    monkeypatch.setattr(sys, "platform", "darwin")  # no fork with torch off Linux: one after another
    assert workers(5) == 1
