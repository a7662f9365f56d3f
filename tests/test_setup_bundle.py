"""assets/curso.tar.gz: reproducible byte a byte, sin nada ignorado, y su copia desfasada se detecta."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from lab.course import bundle

REPO = Path(__file__).resolve().parents[1]


def copy_course(dest: Path) -> Path:
    """Copia de lo que entra en el paquete (sin git: se recorre el árbol)."""
    for name in ("apps", "tools"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, dest / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy2(REPO / "setup.sh", dest / "setup.sh")
    shutil.copy2(REPO / "index.json", dest / "index.json")
    return dest


def members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return tar.getmembers()


def test_build_is_byte_for_byte_reproducible(tmp_path: Path) -> None:
    first = bundle.build_bundle(REPO)
    assert bundle.build_bundle(REPO) == first
    # Otra copia, con otras fechas y otro umask: los mismos bytes.
    other = copy_course(tmp_path / "otra")
    for path in other.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
        if path.is_file() and not os.access(path, os.X_OK):
            path.chmod(0o600)
    assert bundle.build_bundle(other) == first


def test_entries_are_normalised(tmp_path: Path) -> None:
    data = bundle.build_bundle(REPO)
    assert data[4:8] == b"\0\0\0\0", "gzip con fecha"
    assert not data[3] & 0x08, "gzip con nombre de archivo"
    entries = members(data)
    names = [m.name for m in entries]
    assert names == sorted(names)
    assert "setup.sh" in names and "apps/Dockerfile" in names and "apps/k8s/bff.yaml" in names
    if (REPO / "tools" / "traza").exists():
        assert "tools/traza" in names
    for m in entries:
        assert (m.mtime, m.uid, m.gid, m.uname, m.gname) == (bundle.FIXED_MTIME, 0, 0, "root", "root")
        assert m.mode in (0o644, 0o755)
        assert "__pycache__" not in m.name and not m.name.endswith((".pyc", ".pyo"))
    modes = {m.name: m.mode for m in entries}
    assert modes["setup.sh"] == 0o755 and modes["apps/Dockerfile"] == 0o644


def test_pycache_and_git_ignored_files_stay_out(tmp_path: Path) -> None:
    course = copy_course(tmp_path / "curso")
    (course / "apps" / "bff" / "__pycache__").mkdir()
    (course / "apps" / "bff" / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"x")
    (course / "apps" / "stray.pyc").write_bytes(b"x")
    (course / "apps" / "local-notes.txt").write_text("privado\n")
    (course / ".gitignore").write_text("apps/local-notes.txt\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(course)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "apps", "setup.sh", ".gitignore"], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    (course / "apps" / "untracked-new.txt").write_text("nuevo\n")  # nuevo y no ignorado: entra
    names = bundle.bundle_files(course)
    assert "apps/local-notes.txt" not in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert "apps/untracked-new.txt" in names and "apps/Dockerfile" in names
    (course / "apps" / "Dockerfile").unlink()  # borrado pero aún en el índice de git: no entra
    assert "apps/Dockerfile" not in bundle.bundle_files(course)


def test_stale_bundle_is_detected(tmp_path: Path) -> None:
    course = copy_course(tmp_path / "curso")
    assert bundle.bundle_is_current(course) == [
        "assets/curso.tar.gz: no existe; ejecuta `make bundle` (python -m lab.course.bundle)"]
    bundle.write_bundle(course)
    assert bundle.bundle_is_current(course) == []

    main = course / "apps" / "bff" / "main.py"
    main.write_text(main.read_text() + "# cambio\n")
    (course / "apps" / "k8s" / "extra.yaml").write_text("kind: List\n")
    problems = bundle.bundle_is_current(course)
    assert len(problems) == 1
    assert "desactualizado" in problems[0]
    assert "cambió apps/bff/main.py" in problems[0] and "falta apps/k8s/extra.yaml" in problems[0]

    check = subprocess.run([sys.executable, "-m", "lab.course.bundle", "--course", str(course), "--check"],
                           cwd=REPO, capture_output=True, text=True, check=False)
    assert check.returncode == 1 and "desactualizado" in check.stderr

    build = subprocess.run([sys.executable, "-m", "lab.course.bundle", "--course", str(course)],
                           cwd=REPO, capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stderr
    assert bundle.bundle_is_current(course) == []
    (course / "setup.sh").chmod(0o644)
    assert "cambiaron los permisos de setup.sh" in bundle.bundle_is_current(course)[0]


def test_corrupt_bundle_and_wrong_index_are_reported(tmp_path: Path) -> None:
    course = copy_course(tmp_path / "curso")
    (course / "assets").mkdir()
    (course / "assets" / "curso.tar.gz").write_bytes(b"no es gzip")
    assert "no es un .tar.gz válido" in bundle.bundle_is_current(course)[0]
    bundle.write_bundle(course)
    (course / "index.json").write_text('{"details": {"assets": {"host01": []}}}')
    assert bundle.bundle_is_current(course) == [
        "index.json: details.assets.host01 debe copiar curso.tar.gz a /root"]


def test_committed_bundle_is_current() -> None:
    """Higiene, no comportamiento: el assets/curso.tar.gz del repositorio (lo que Killercoda copia a
    /root) es el de este árbol. Falla tras cualquier cambio en lo que entra en el paquete hasta
    `make bundle`; no dice nada de si el curso funciona (eso lo prueban test_stale_bundle_is_detected
    y las pruebas de setup.sh con el paquete que construyen ellas)."""
    problems = bundle.bundle_is_current(REPO)
    assert problems == [], "\n".join(problems) + "\n(ejecuta `make bundle` y añade assets/curso.tar.gz al commit)"
