"""Canvas tests run single-threaded: these small models are dispatch-bound, and on a shared
2-core machine intra-op threads mostly fight each other (10 steps: ~0.1 s vs ~5 s)."""

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
