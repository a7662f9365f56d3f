"""El paquete que viaja al sandbox: assets/curso.tar.gz, construido a partir de apps/, tools/ y setup.sh.

Killercoda solo copia a la máquina los archivos de assets/ que index.json enumera; apps/ sigue siendo
la única fuente y este módulo genera la copia que viaja (`make bundle`). setup.sh la desempaqueta en
/root/curso/ (apps/, tools/ y el propio setup.sh, para poder relanzarlo a mano).

El resultado es reproducible byte a byte: entradas ordenadas, fecha, dueño y permisos fijos
(0644, o 0755 si el original es ejecutable), gzip sin nombre ni fecha. No entra nada que git
ignore, ni __pycache__ ni *.pyc.

    python -m lab.course.bundle [--course DIR]            construye assets/curso.tar.gz
    python -m lab.course.bundle [--course DIR] --check    comprueba que está al día (código 1 si no)
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from lab.course.model import INDEX

ASSET_NAME = "curso.tar.gz"
ASSET_TARGET = "/root"
BUNDLE_PATH = Path("assets") / ASSET_NAME
SOURCES = ("apps", "tools", "setup.sh")
FIXED_MTIME = 946684800  # 2000-01-01 00:00:00 UTC: GNU tar avisa de fechas «implausibles» en 1970
EXCLUDED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo")


def _excluded(rel: str) -> bool:
    parts = rel.split("/")
    return any(p in EXCLUDED_DIRS for p in parts) or rel.endswith(EXCLUDED_SUFFIXES)


def _git_files(root: Path) -> list[str] | None:
    """Archivos de SOURCES que git no ignora (versionados o nuevos); None si root no está en git."""
    try:
        inside = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--is-inside-work-tree"],
            capture_output=True, text=True, check=False,
        )
    except FileNotFoundError:
        return None
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        return None
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *SOURCES],
        cwd=root, capture_output=True, check=True,
    )
    return [p for p in listed.stdout.decode().split("\0") if p]


def _walk_files(root: Path) -> list[str]:
    found = []
    for source in SOURCES:
        path = root / source
        if path.is_file():
            found.append(source)
        elif path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = [d for d in dirnames if d not in EXCLUDED_DIRS]
                for name in filenames:
                    found.append((Path(dirpath) / name).relative_to(root).as_posix())
    return found


def bundle_files(course_root: Path) -> list[str]:
    """Las rutas (relativas, con /) que entran en el paquete, ordenadas."""
    root = Path(course_root)
    listed = _git_files(root)
    if listed is None:
        listed = _walk_files(root)
    files = set()
    for rel in listed:
        path = root / rel
        # Solo archivos normales que existen (git ls-files --cached lista también los borrados).
        if _excluded(rel) or path.is_symlink() or not path.is_file():
            continue
        files.add(rel)
    return sorted(files)


def _tarinfo(name: str, *, directory: bool, size: int = 0, executable: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.mode = 0o755 if directory or executable else 0o644
    info.size = size
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def build_tar(course_root: Path) -> bytes:
    """El tar (sin comprimir) del paquete, idéntico byte a byte para el mismo contenido."""
    root = Path(course_root)
    files = bundle_files(root)
    if not any(f.startswith("apps/") for f in files):
        raise FileNotFoundError(f"{root}/apps no existe o está vacío: no hay nada que empaquetar")
    dirs = {"/".join(f.split("/")[:i]) for f in files for i in range(1, f.count("/") + 1)}
    entries = sorted([(d, True) for d in dirs] + [(f, False) for f in files])
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, is_dir in entries:
            if is_dir:
                tar.addfile(_tarinfo(name, directory=True))
                continue
            path = root / name
            data = path.read_bytes()
            executable = bool(path.stat().st_mode & 0o100)
            tar.addfile(_tarinfo(name, directory=False, size=len(data), executable=executable),
                        io.BytesIO(data))
    return buffer.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return buffer.getvalue()


def build_bundle(course_root: Path) -> bytes:
    """El paquete comprimido (assets/curso.tar.gz) como bytes."""
    return gzip_bytes(build_tar(course_root))


def write_bundle(course_root: Path, output: Path | None = None) -> Path:
    root = Path(course_root)
    target = Path(output) if output else root / BUNDLE_PATH
    data = build_bundle(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not (target.is_file() and target.read_bytes() == data):
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    return target


def _members(tar_bytes: bytes) -> dict[str, tuple[int, bytes]]:
    out = {}
    with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tar:
        for member in tar.getmembers():
            content = b""
            if member.isfile():
                extracted = tar.extractfile(member)
                content = extracted.read() if extracted else b""
            out[member.name] = (member.mode, content)
    return out


def _index_problems(root: Path) -> list[str]:
    index = root / INDEX
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"index.json: no se puede leer ({exc})"]
    assets = data.get("details", {}).get("assets", {}).get("host01", [])
    if not any(a.get("file") == ASSET_NAME and a.get("target") == ASSET_TARGET for a in assets):
        return [f"index.json: details.assets.host01 debe copiar {ASSET_NAME} a {ASSET_TARGET}"]
    return []


def bundle_is_current(course_root: Path) -> list[str]:
    """Problemas del paquete de assets/ frente a apps/, tools/ y setup.sh (lista vacía: al día).

    Compara el contenido (el tar sin comprimir), no los bytes comprimidos: así otra versión de
    zlib no da un falso «desactualizado».
    """
    root = Path(course_root)
    bundle = root / BUNDLE_PATH
    hint = "ejecuta `make bundle` (python -m lab.course.bundle)"
    problems = _index_problems(root) if (root / INDEX).exists() else []
    if not bundle.is_file():
        return problems + [f"{BUNDLE_PATH}: no existe; {hint}"]
    try:
        fresh = build_tar(root)
    except (OSError, FileNotFoundError) as exc:
        return problems + [f"{BUNDLE_PATH}: no se puede construir el paquete ({exc})"]
    try:
        shipped = gzip.decompress(bundle.read_bytes())
        if shipped == fresh:
            return problems
        old, new = _members(shipped), _members(fresh)
    except (OSError, EOFError, tarfile.TarError) as exc:
        return problems + [f"{BUNDLE_PATH}: no es un .tar.gz válido ({exc}); {hint}"]
    details = []
    for name in sorted(new.keys() - old.keys()):
        details.append(f"falta {name}")
    for name in sorted(old.keys() - new.keys()):
        details.append(f"sobra {name}")
    for name in sorted(old.keys() & new.keys()):
        if old[name][1] != new[name][1]:
            details.append(f"cambió {name}")
        elif old[name][0] != new[name][0]:
            details.append(f"cambiaron los permisos de {name}")
    if not details:
        details.append("el formato del tar no es el de lab.course.bundle")
    shown = ", ".join(details[:8]) + (f" y {len(details) - 8} más" if len(details) > 8 else "")
    return problems + [f"{BUNDLE_PATH} está desactualizado ({shown}); {hint}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lab.course.bundle",
        description="Construye (o comprueba) assets/curso.tar.gz a partir de apps/, tools/ y setup.sh.",
    )
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="carpeta del curso (por defecto, la actual)")
    parser.add_argument("--check", action="store_true", help="solo comprobar que el paquete está al día")
    parser.add_argument("--output", type=Path, help=f"destino (por defecto {BUNDLE_PATH})")
    args = parser.parse_args(argv)
    if args.check:
        problems = bundle_is_current(args.course)
        for problem in problems:
            print(problem, file=sys.stderr)
        if not problems:
            print(f"{BUNDLE_PATH}: al día")
        return 1 if problems else 0
    try:
        target = write_bundle(args.course, args.output)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    count = len(bundle_files(args.course))
    print(f"{target}: {count} archivos, {target.stat().st_size / 1024:.1f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
