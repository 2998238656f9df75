"""Answers to the attention exercise that attack the grading, shared by tests/test_assignments.py
(autograde in make test) and tests/hub/test_class.py (a class on the hub). Each must earn exactly
what its honest part earns: 0, or what the honest answer it is added to earns."""

# the library's own attention, called from a thread, after switching the profiler off, through importlib
LIBRARY_THREAD = """from concurrent.futures import ThreadPoolExecutor


def scaled_dot_product_attention(q, k, v, padding_mask=None):
    from prm_edu.prm.attention import scaled_dot_product_attention as theirs
    with ThreadPoolExecutor() as pool:
        return pool.submit(theirs, q, k, v, padding_mask).result()"""

LIBRARY_PROFILER = """import sys


def scaled_dot_product_attention(q, k, v, padding_mask=None):
    sys.setprofile(None)
    from prm_edu.prm import attention
    return attention.scaled_dot_product_attention(q, k, v, padding_mask)"""

LIBRARY_IMPORTLIB = """import importlib


def scaled_dot_product_attention(q, k, v, padding_mask=None):
    return importlib.import_module("prm_" + "edu.prm.attention").scaled_dot_product_attention(q, k, v, padding_mask)"""

# importlib after taking the grader's import guard out: only where the library's files are closed to the
# grading account (the hub); elsewhere the library may lie on the answer's path
LIBRARY_UNGUARDED = """import importlib
import sys


def scaled_dot_product_attention(q, k, v, padding_mask=None):
    sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__name__ != "NoLibrary"]
    importlib.invalidate_caches()
    return importlib.import_module("prm_" + "edu.prm.attention").scaled_dot_product_attention(q, k, v, padding_mask)"""

# every check of prm_edu.grading replaced by a no-op, and an answer that returns nothing
PATCHES_CHECKS = """import sys

for module in list(sys.modules.values()):
    if "grading" in getattr(module, "__name__", ""):
        for name in dir(module):
            if name.startswith("check"):
                setattr(module, name, lambda *args, **kwargs: None)
try:
    from prm_edu import grading
    for name in dir(grading):
        if name.startswith("check"):
            setattr(grading, name, lambda *args, **kwargs: None)
except ImportError:
    pass


def scaled_dot_product_attention(q, k, v, padding_mask=None):
    return None"""

# put before an honest answer: torch.allclose made to agree with anything
PATCHES_TORCH = 'torch.allclose = lambda *args, **kwargs: True\n\n'

# reads the hidden tests and the gradebook while autograde runs it, and leaves what it got (and as whom)
# in a world-readable file; COURSE and LEAK are replaced by the course folder and that file's path
READS_COURSE = """import os


def scaled_dot_product_attention(q, k, v, padding_mask=None):
    found = {"uid": os.getuid()}
    for path in (COURSE + "/source/attention/attention.ipynb", COURSE + "/gradebook.db"):
        try:
            with open(path, "rb") as file:
                found[path] = len(file.read())
        except OSError as err:
            found[path] = type(err).__name__
    with open(LEAK, "w") as file:
        file.write(repr(found))
    os.chmod(LEAK, 0o644)
    raise RuntimeError("nothing to see")"""
