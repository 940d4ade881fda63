"""Size limits per file class, checked from the listing, never by reading."""

from __future__ import annotations

from dataclasses import dataclass

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    model_tar_bytes: int = 500 * MiB
    checkpoint_file_bytes: int = 500 * MiB
    control_file_bytes: int = 1 * MiB
    """model_metadata.json, hyperparameters.json, pointer files, training params, metrics."""
    reward_function_bytes: int = 1 * MiB


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
