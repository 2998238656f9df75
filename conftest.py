"""Settings for every test, the notebooks (run by nbval) included: small work, one torch
thread, no display, and Jupyter's runtime files in a temporary folder."""

import os
import tempfile

_jupyter = tempfile.mkdtemp(prefix="prm-edu-jupyter-")
os.environ.setdefault("PRM_EDU_FAST", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ["JUPYTER_RUNTIME_DIR"] = os.path.join(_jupyter, "runtime")
os.environ["JUPYTER_DATA_DIR"] = os.path.join(_jupyter, "data")
