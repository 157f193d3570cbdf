"""What every plot needs: a headless matplotlib and one way to save a figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .files import atomic_output


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (no display needed, nothing opens a window)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def finish_figure(fig: Any, path: str | Path | None, *, overwrite: bool = False) -> Any:
    """Lay out ``fig``; return it when ``path`` is None, else save it there, close it, and return the path.

    The file is written atomically; an existing one is replaced only with ``overwrite=True``.
    """
    fig.tight_layout()
    if path is None:
        return fig
    path = Path(path)
    try:
        with atomic_output(path, overwrite=overwrite) as temp:
            # The temporary name keeps the suffix, from which matplotlib picks the format.
            fig.savefig(temp)
    finally:
        pyplot().close(fig)
    return path
