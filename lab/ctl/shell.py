"""`lab shell` y el entorno con el que se ejecutan los bloques del curso contra el laboratorio.

`course_environment(course_root)` → una copia de os.environ sin variables de proxy, cuyo PATH
empieza por <curso>/.lab/bin (guiones `kubectl` e `istioctl` que llaman a `lab --course <curso>`)
y por <curso>/tools (traza). Así `bash -c "kubectl get pods; traza ID; curl -s localhost:30000/toapp"`
funciona contra el laboratorio en marcha.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from lab.cluster.client import without_proxies
from lab.cluster.state import NOT_RUNNING, load_state, state_dir

SHIMS = ("kubectl", "istioctl")


def shim_dir(course_root: Path) -> Path:
    """Crea (si hace falta) y devuelve la carpeta con los guiones kubectl/istioctl."""
    root = course_root.resolve()
    folder = state_dir(root) / "bin"
    folder.mkdir(parents=True, exist_ok=True)
    for name in SHIMS:
        path = folder / name
        text = (
            "#!/bin/sh\n"
            f"# {name} del laboratorio local (lab/ctl/shell.py)\n"
            f"exec {shlex.quote(sys.executable)} -m lab --course {shlex.quote(str(root))} {name} \"$@\"\n"
        )
        if not path.exists() or path.read_text() != text:
            tmp = path.with_name(f".{name}.{os.getpid()}")
            tmp.write_text(text)
            tmp.chmod(0o755)
            os.replace(tmp, path)
    return folder


def course_environment(course_root: Path) -> dict[str, str]:
    root = Path(course_root).resolve()
    env = without_proxies(dict(os.environ))
    parts = [str(shim_dir(root)), str(root / "tools"), env.get("PATH", os.defpath)]
    env["PATH"] = os.pathsep.join(parts)
    env["LAB_COURSE"] = str(root)
    return env


def run_shell(course_root: Path, args: list[str]) -> int:
    """Una bash interactiva con el kubectl del laboratorio (sale con `exit`)."""
    env = course_environment(course_root)
    if load_state(course_root.resolve()) is None:
        print(f"Aviso: {NOT_RUNNING}", file=sys.stderr)
    rc = state_dir(course_root.resolve()) / "bashrc"
    rc.write_text(
        '[ -f ~/.bashrc ] && . ~/.bashrc\n'
        'PS1="(lab) ${PS1:-\\w \\$ }"\n'
        'echo "kubectl e istioctl son los del laboratorio; «exit» para salir."\n'
    )
    os.execvpe("bash", ["bash", "--rcfile", str(rc), "-i", *args], env)
    return 0  # no se llega aquí
