"""La comprobación previa de setup.sh por los dos lados, con la lista sacada del propio setup.sh:

- cada orden de `required_commands` (para cada IMAGE_TARGET y modo), si falta, hace fallar setup.sh
  en la etapa «comprobaciones» nombrando solo esa orden, sin haber llamado a nada (y foreground.sh
  lo muestra);
- y al revés: cada orden externa que setup.sh ejecuta de verdad en una preparación completa (se
  ve con un PATH de envoltorios que apuntan cada orden que lanza setup.sh) está en esa lista, así
  que quitar una de la lista no pasa inadvertido. Fuera quedan, con su motivo, las de UNCHECKED.
Con las falsificaciones de tests/setup_fakes/ (el mismo banco que tests/test_setup*.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from setup_fakes.harness import (
    BASH,
    FAKED,
    SETUP,
    SYSTEM_DIRS,
    Sandbox,
    assert_success,
    failure,
    path_without,
    required_commands,
    sandbox_fixture,  # noqa: F401 - registra el fixture «sandbox»
)

TARGETS = ("containerd", "kind", "ssh:nodo")
# Órdenes que setup.sh ejecuta y que la comprobación previa no puede comprobar, con el motivo.
UNCHECKED = {
    "bash": "es el intérprete de setup.sh: si falta, setup.sh no llega a empezar",
    "mkdir": "prepare_state crea con él el directorio del estado y del registro, donde la comprobación previa escribe su fallo",
    "istioctl": "no es del sistema: setup.sh lo descarga (download_istioctl) antes de usarlo",
}


CASES = sorted({(command, target) for target in reversed(TARGETS) for mode in ("todo", "imagenes")
                for command in required_commands(target, mode)}, key=lambda c: (c[0], TARGETS.index(c[1])))
CASES = [case for i, case in enumerate(CASES) if case[0] not in [c for c, _ in CASES[:i]]]  # un destino por orden


def test_the_list_is_read_from_setup_sh() -> None:
    assert len(CASES) >= 20 and {"docker", "kubectl", "kind", "ctr"} <= {c for c, _ in CASES}


@pytest.mark.parametrize(("command", "target"), [
    pytest.param(c, t, id=c) for c, t in CASES
])
def test_each_command_of_the_list_when_missing_fails_naming_it(sandbox: Sandbox, command: str, target: str) -> None:
    result = sandbox.run(PATH=path_without(sandbox, command), IMAGE_TARGET=target)
    assert result.returncode != 0
    marker = failure(sandbox)
    assert marker["etapa"] == "comprobaciones", marker
    assert marker["mensaje"].split(":", 1)[1].split("(")[0].split() == [command], marker
    assert not sandbox.calls()  # ni docker, ni kubectl…: nada se intentó
    shown = sandbox.foreground()  # y quien aprende lo ve en la terminal
    assert "falló en la etapa «Comprobando las herramientas del sistema»" in shown.stdout
    assert command in shown.stdout


def tracing_path(sb: Sandbox, log: Path) -> str:
    """Las falsificaciones y, por cada ejecutable del sistema, un envoltorio que apunta su nombre en
    `log` si quien lo lanza es setup.sh (no una falsificación) y después ejecuta el de verdad."""
    folder = sb.tmp / "envoltorios"
    folder.mkdir()
    for entry in (e for d in map(Path, SYSTEM_DIRS) if d.is_dir() for e in sorted(d.iterdir())):
        wrapper = folder / entry.name
        if entry.name in FAKED or wrapper.exists() or entry.is_dir() or not os.access(entry, os.X_OK):
            continue
        wrapper.write_text(f'#!{BASH}\nmapfile -d "" parent < /proc/$PPID/cmdline\n'
                           f'[[ "${{parent[*]}}" != *{SETUP.name}* ]] || echo {entry.name} >> "{log}"\n'
                           f'exec "{entry}" "$@"\n', encoding="utf-8")
        wrapper.chmod(0o755)
    return f"{sb.env['PATH'].split(os.pathsep)[0]}{os.pathsep}{folder}"


# Con kind, ctr corre dentro del contenedor del nodo (`docker exec -i NODO ctr …`, on_node en setup.sh):
# lo necesita el nodo, no la máquina que ejecuta setup.sh.
ON_THE_NODE = {"containerd": set(), "kind": {"ctr"}}


@pytest.mark.parametrize("target", ["containerd", "kind"])
def test_every_command_setup_runs_is_in_the_list(sandbox: Sandbox, target: str) -> None:
    log = sandbox.tmp / "ordenes.log"
    assert_success(sandbox, sandbox.run(PATH=tracing_path(sandbox, log), IMAGE_TARGET=target))
    ran = set(log.read_text().split()) | {c.tool for c in sandbox.calls()}
    assert {"awk", "tar", "kubectl", "docker"} <= ran, ran  # el envoltorio ve de verdad lo que se ejecuta
    unlisted = ran - set(required_commands(target, "todo")) - set(UNCHECKED) - ON_THE_NODE[target]
    assert not unlisted, f"setup.sh ejecuta {sorted(unlisted)} y required_commands no las comprueba"
