"""The launch kit's JDK and jars: a JDK 17, and each server's jars resolved from Maven Central
with ``mvn`` into ``<state>/<component>/lib`` (``infra/<component>/pom.xml``)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from tongxiu.infra.launch_base import (
    DEFAULT_JDK17,
    INFRA_DIR,
    LaunchError,
    StrPath,
    _check_component,
    _comp_dir,
    _state,
    _tail_text,
)


def _java_major(java_home: Path) -> int | None:
    release = java_home / "release"
    try:
        for line in release.read_text().splitlines():
            if line.startswith("JAVA_VERSION="):
                ver = line.split("=", 1)[1].strip().strip('"')
                head = ver.split(".")[0]
                return int(head if head != "1" else ver.split(".")[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def find_java17() -> Path:
    """The ``java`` binary of a JDK 17: ``$JAVA_HOME`` if it is a 17, else the Debian one.

    Cassandra 5.0 runs on 11 or 17 only (not 21/25); Kafka 4.x brokers need 17+.
    """
    candidates = []
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    candidates.append(DEFAULT_JDK17)
    candidates.extend(sorted(Path("/usr/lib/jvm").glob("*17*")))
    for home in candidates:
        java = home / "bin" / "java"
        if java.is_file() and os.access(java, os.X_OK) and _java_major(home) == 17:
            return java
    raise LaunchError(
        "no JDK 17 found (looked at $JAVA_HOME, /usr/lib/jvm/java-17-openjdk-amd64, "
        "/usr/lib/jvm/*17*); install openjdk-17-jdk-headless"
    )


# --------------------------------------------------------------------------- resolve


def _pom(component: str) -> Path:
    return INFRA_DIR / component / "pom.xml"


def _pom_digest(component: str) -> str:
    return hashlib.sha256(_pom(component).read_bytes()).hexdigest()


def _has_jars(lib: Path) -> bool:
    return lib.is_dir() and any(lib.glob("*.jar"))


def resolve(component: str, *, state_dir: StrPath | None = None) -> Path:
    """Put the component's jars in ``<state>/<component>/lib`` and return that directory.

    Runs ``mvn -q -B -f infra/<component>/pom.xml dependency:copy-dependencies`` unless the lib
    directory already holds jars resolved from the same pom (a ``.pom.sha256`` stamp; a lib
    without a stamp but with jars is kept as is). Resolves into a temporary directory and renames
    it, so an interrupted run never leaves a half-filled lib behind.
    """
    _check_component(component)
    state = _state(state_dir)
    cdir = _comp_dir(state, component)
    lib = cdir / "lib"
    stamp = lib / ".pom.sha256"
    digest = _pom_digest(component)
    if _has_jars(lib) and (not stamp.exists() or stamp.read_text().strip() == digest):
        return lib

    mvn = shutil.which("mvn")
    if not mvn:
        raise LaunchError("mvn not found on PATH; install maven (apt-get install maven)")
    (cdir / "logs").mkdir(parents=True, exist_ok=True)
    partial = cdir / "lib.partial"
    shutil.rmtree(partial, ignore_errors=True)
    env = dict(os.environ)
    with contextlib.suppress(LaunchError):
        env["JAVA_HOME"] = str(find_java17().parent.parent)
    cmd = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(_pom(component)),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={partial}",
    ]
    resolve_log = cdir / "logs" / "resolve.log"
    with open(resolve_log, "w") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        proc = subprocess.run(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=str(INFRA_DIR / component),
            env=env,
        )
    if proc.returncode != 0 or not _has_jars(partial):
        raise LaunchError(
            f"resolving {component} with maven failed (exit {proc.returncode}); "
            f"see {resolve_log}:\n{_tail_text(resolve_log, 40)}"
        )
    (partial / ".pom.sha256").write_text(digest + "\n")
    shutil.rmtree(lib, ignore_errors=True)
    os.replace(partial, lib)
    return lib
