"""What a department keeps (issue 9, after immudb's clients keeping their last verified state):
every receipt the ledger gave it and every checkpoint it has seen, as plain JSON Lines files in
a small folder per department.

Default folder: ``$TONGXIU_CLIENT_DIR/<department>`` (``TONGXIU_CLIENT_DIR`` defaults to
``~/.tongxiu/client``); the SDK's :class:`tongxiu.services.sdk.Producer` takes ``store=`` to choose
another, or ``store=None`` to keep nothing. ``tongxiu audit --store DIR`` checks a folder
against the ledger.
"""

from __future__ import annotations

import os
from pathlib import Path

from tongxiu.events.envelope import Receipt
from tongxiu.events.tlog import Checkpoint


def default_dir(department: str) -> Path:
    base = os.environ.get("TONGXIU_CLIENT_DIR") or str(Path.home() / ".tongxiu" / "client")
    return Path(base) / department


class ReceiptStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    @classmethod
    def for_department(cls, department: str) -> ReceiptStore:
        return cls(default_dir(department))

    def _append(self, name: str, line: str) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        with (self.path / name).open("a", encoding="utf-8") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())

    def add(self, receipt: Receipt) -> None:
        """Keep a receipt (and the checkpoint it carries)."""
        self._append("receipts.jsonl", receipt.model_dump_json())

    def add_checkpoint(self, checkpoint: Checkpoint) -> None:
        self._append("checkpoints.jsonl", checkpoint.model_dump_json())

    def _lines(self, name: str) -> list[str]:
        p = self.path / name
        if not p.exists():
            return []
        return [line for line in p.read_text(encoding="utf-8").splitlines() if line.strip()]

    def receipts(self) -> list[Receipt]:
        return [Receipt.model_validate_json(line) for line in self._lines("receipts.jsonl")]

    def checkpoints(self) -> list[Checkpoint]:
        """Checkpoints kept on their own and those inside receipts, each (size, root) once."""
        seen: dict[tuple[int, str], Checkpoint] = {}
        for line in self._lines("checkpoints.jsonl"):
            cp = Checkpoint.model_validate_json(line)
            seen.setdefault((cp.size, cp.root), cp)
        for r in self.receipts():
            if r.log is not None:
                seen.setdefault((r.log.checkpoint.size, r.log.checkpoint.root), r.log.checkpoint)
        return sorted(seen.values(), key=lambda c: (c.size, c.time))
