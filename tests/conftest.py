"""Test-wide settings: one torch thread (two threads on two shared cores were seen far slower
than one), and no progress bars."""

import os

import torch

torch.set_num_threads(1)
os.environ.setdefault("PRM_EDU_FAST", "1")
