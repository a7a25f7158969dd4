"""The installed distribution is one import package, ``tongxiu`` (issue 10): a wheel built from
the repository holds ``tongxiu/...`` and its dist-info and nothing else at the top level, so
it cannot shadow a generic ``events``/``services`` package of another project."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FOLDERS = ("events", "projections", "services", "streams", "infra", "entrypoints")


def test_the_wheel_has_one_top_level_package(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(tmp_path), str(REPO)], check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("tongxiu-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"tongxiu", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}, top
    # every folder is a subpackage, with its data files
    for folder in FOLDERS:
        assert f"tongxiu/{folder}/__init__.py" in names, folder
    assert "tongxiu/services/templates/dashboard.html" in names
    assert "tongxiu/infra/cassandra/schema.cql" in names
    # the console script points into the package
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "tongxiu = tongxiu.entrypoints.console:main" in zipfile.ZipFile(wheel).read(entry).decode()


def test_imports_are_by_the_tongxiu_names() -> None:
    import tongxiu.events.envelope as envelope
    import tongxiu.services.app as app

    assert Path(envelope.__file__).parent == REPO / "events"
    assert Path(app.__file__).parent == REPO / "services"
