"""The README's snippets run: every fenced ``bash`` or ``python`` block preceded by the line
``<!-- test -->`` is run, in the README's order, in one fresh folder against one fresh
embedded ledger (``TONGXIU_DATA_DIR``), the installed ``tongxiu`` first on the PATH. A block
that fails fails the test; so does a README with no marked block of either language."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MARKER = "<!-- test -->"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.S | re.M)


def marked_blocks(text: str) -> list[tuple[str, str]]:
    """(language, code) of each fenced block whose previous non-empty line is the marker."""
    out = []
    for m in FENCE.finditer(text):
        before = text[: m.start()].rstrip().splitlines()
        if before and before[-1].strip() == MARKER:
            out.append((m.group(1), m.group(2)))
    return out


def test_the_marker_finds_only_marked_blocks() -> None:
    text = "intro\n```bash\necho no\n```\n\n<!-- test -->\n```python\nprint(1)\n```\n```bash\necho no\n```\n"
    assert marked_blocks(text) == [("python", "print(1)\n")]


def test_readme_snippets_run(tmp_path: Path) -> None:
    blocks = marked_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert {lang for lang, _ in blocks} == {"bash", "python"}, "the README marks a bash and a python snippet"
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "TONGXIU_DATA_DIR": str(tmp_path / "ledger"),
        "TONGXIU_CLIENT_DIR": str(tmp_path / "client"),
        "COLUMNS": "120",
    }
    env.pop("TONGXIU_LANG", None)
    env.pop("TONGXIU_BACKEND", None)
    for n, (lang, code) in enumerate(blocks):
        cmd = ["bash", "-euo", "pipefail", "-c", code] if lang == "bash" else [sys.executable, "-c", code]
        run = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, f"README block {n} ({lang}) failed:\n{code}\n--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}"
    # what the snippets did is in the ledger: the registrations, the subscription, the 三书同达
    check = subprocess.run([str(bin_dir / "tongxiu"), "credit", "91330521MA2D7K3X47", "--json"], cwd=tmp_path,
                           env=env, capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr
    assert '"德市监处罚〔2026〕101号"' in check.stdout
