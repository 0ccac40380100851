"""Where torch work runs: one rule for the samplers (``lattice_models``) and the families (``denoisers``)."""

from __future__ import annotations

import os


def torch_device() -> str:
    """'cuda' when a GPU is available, else 'cpu'; the environment variable PHASEBENCH_DEVICE overrides."""
    forced = os.environ.get("PHASEBENCH_DEVICE")
    if forced:
        return forced
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
