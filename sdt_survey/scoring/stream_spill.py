"""What pass 2 of a streamed run needs of each validated block, kept on disk between the passes.

Pass 1 validates each block of rows; pass 2 writes the block's report lines
and scores once the whole-sample steps are done. Rather than read and
validate every block again, pass 1 writes what pass 2 reads of its
validation (:class:`Block`: the report's lines, the item codes, the ids, row
numbers and counts, the other columns as read) to a temporary file, one
pickled block after another, and pass 2 reads them back in order: the same
tables, at the cost of writing them once (about twice the size of the
responses file).
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .stream_lines import MISSING_CODE
from .stream_read import Unstreamable


@dataclass
class Block:
    """One validated block as pass 2 reads it: what :func:`validate_responses` gave, and the other columns."""

    issues: pd.DataFrame
    codes: np.ndarray  # rows x items, int8, MISSING_CODE where missing
    respondent: np.ndarray | None  # the ids (None where missing), as validation gives them
    rows: np.ndarray
    missing_count: np.ndarray
    invalid_count: np.ndarray
    other: pd.DataFrame  # the other columns, as read
    typed: pd.DataFrame  # those validation made numbers of (in this block)

    def values(self, items: Sequence[str]) -> pd.DataFrame:
        """The items' validated values (floats, NaN missing), as :func:`validate_responses` gives them."""
        values = np.where(self.codes == MISSING_CODE, np.nan, self.codes.astype(float))
        return pd.DataFrame(values, columns=list(items))


class BlockSpill:
    """A temporary file of :class:`Block`: written in pass 1 (:meth:`add`), read in pass 2."""

    def __init__(self) -> None:
        self.file = None  # made on the first block, inside the run (a failure falls back, never a traceback)

    def add(self, block: Block) -> None:
        try:
            if self.file is None:
                self.file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by __exit__)
            pickle.dump(block, self.file, protocol=pickle.HIGHEST_PROTOCOL)
        except OSError as exc:  # a full or read-only temporary folder: the whole-file path needs none
            folder = tempfile.gettempdir()
            raise Unstreamable(f"no room for the run's temporary file in {folder}: {exc}") from exc

    def blocks(self) -> Iterator[Block]:
        if self.file is None:
            return
        self.file.flush()
        self.file.seek(0)
        while True:
            try:
                yield pickle.load(self.file)
            except EOFError:
                return

    def __enter__(self) -> BlockSpill:
        return self

    def __exit__(self, *exc) -> None:
        if self.file is not None:
            self.file.close()


__all__ = ["Block", "BlockSpill"]
