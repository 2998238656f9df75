"""One torch thread in tests: two threads on two shared cores were seen far slower than one."""

import torch

torch.set_num_threads(1)
