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


def test_the_sdk_imports_only_its_light_dependencies() -> None:
    """`pip install tongxiu` (no extras) must be enough for the SDK modules: importing them
    here, where every extra is installed, loads none of the extras' packages."""
    code = (
        "import sys; import tongxiu.services.sdk, tongxiu.services.http_client, tongxiu.events.schemas, "
        "tongxiu.services.signfile; "
        "heavy = ('fastapi', 'starlette', 'uvicorn', 'faust', 'aiokafka', 'kafka', 'cassandra', 'typer', "
        "'jinja2', 'yaml'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout


def test_the_core_dependencies_are_the_sdks() -> None:
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = {d.split(">")[0].split("<")[0].split("=")[0].strip().lower() for d in project["dependencies"]}
    assert core == {"pydantic", "pynacl", "httpx", "chinesecalendar", "orjson"}
    assert {"server", "distributed", "cli", "all", "dev"} <= set(project["optional-dependencies"])
    assert project["license"] == "Apache-2.0" and (REPO / "LICENSE").exists() and (REPO / "CHANGELOG.md").exists()
    for folder in FOLDERS:
        assert (REPO / folder / "py.typed").exists(), folder
