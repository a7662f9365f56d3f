"""`lab play`: el curso entero como lo haría quien aprende, contra un laboratorio nuevo o un clúster.

    lab play [--course DIR] [--cluster] [--block-timeout S]

Sin --cluster: `lab up --detach` (un laboratorio nuevo en cada ejecución) y siempre `lab down` al
final, también con Ctrl-C, SIGTERM o un error. Con --cluster: el clúster del kubeconfig actual, con
los `kubectl`, `istioctl` y `traza` del PATH (kind, el sandbox de Killercoda); no se arranca ni se
para nada, se comprueba antes del primer bloque que el clúster está listo para el curso y al final
se deja como estaba (el entorno de los Deployments y los VirtualServices), para poder repetirlo.

Lo demás es lo mismo en los dos casos (lab/course/player.py): los bloques en una terminal bash, cada
verify.sh falla antes de su paso y pasa después, la salida de cada bloque se compara con su «Salida
esperada», cada `<!-- promesa … -->` se cuenta por request_id con `traza --recuento`. Sale con 0 si
todo fue bien, 1 en el primer fallo («fichero:línea: mensaje») y 130 si se interrumpe.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from lab.constants import COURSE_ENV
from lab.course.cluster import AppsError, ClusterError, CourseApps, read_apps, readiness_problems, restore, snapshot
from lab.course.expected import expected_outputs
from lab.course.model import CourseError, load_course
from lab.course.player import Player
from lab.course.promises import Observer, page_promises
from lab.course.session import ClusterTarget, LabTarget, Output, PlayFailure, Session, Target
from lab.course.terminal import TIMEOUTS, ShellClosed, Timeouts


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # no es el hilo principal
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _show(path: Path, root: Path) -> str:
    for base in (Path.cwd().resolve(), root):
        with contextlib.suppress(ValueError):
            return str(path.resolve().relative_to(base))
    return str(path)


def _stdout(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def play_course(
    root: Path,
    *,
    target: Target | None = None,
    cluster: bool = False,
    out: Output | None = None,
    timeouts: Timeouts = TIMEOUTS,
) -> int:
    """Juega el curso contra `target` (por defecto un laboratorio nuevo, o el clúster con cluster=True)."""
    root = Path(root).resolve()
    write = out or _stdout
    target = target or (ClusterTarget() if cluster else LabTarget(root))
    start = time.monotonic()
    try:
        course = load_course(root)
        apps = read_apps(root)
        for page in course.pages:
            page_promises(page, apps.entry)  # una marca mal escrita falla antes de arrancar nada
            expected_outputs(page.text)  # y un «salida: libre» sin motivo
    except (CourseError, AppsError) as exc:
        write(f"lab play: {exc}\n")
        return 1
    except PlayFailure as failure:
        write(f"lab play: {_show(failure.file, root)}:{failure.line}: {failure.message}\n")
        return 1
    if isinstance(target, LabTarget) and (running := target.running()) is not None:
        # Un laboratorio nuevo en cada ejecución: el de `lab up` de otra terminal no se toca.
        write(f"lab play: ya hay un laboratorio de este curso en marcha ({running}). "
              "`lab play` usa siempre uno nuevo: páralo antes con `lab down`, o usa `lab play --cluster`.\n")
        return 1
    status = 1
    player: Player | None = None
    with _sigterm_as_interrupt():
        try:
            where = "el clúster del kubeconfig actual" if target.is_cluster else "un laboratorio nuevo"
            write(f"━━ {course.title}\n(contra {where})\n")
            if isinstance(target, LabTarget):
                write(f"$ {target.shown('up', '--detach')}\n")
            if target.up(write) != 0:
                write(f"lab play: {target.noun} no arrancó\n")
                return 1
            with Session(root, target.environment(), timeouts) as session:
                player = Player(course, session, write, Observer(session.tool, apps.entry, timeouts.settle),
                                target.noun)
                status = _play_on(target, session, apps, player, write)
        except PlayFailure as failure:
            write(f"\nlab play: FALLO\n{_show(failure.file, root)}:{failure.line}: {failure.message}\n")
        except (ShellClosed, ClusterError) as exc:
            write(f"\nlab play: FALLO: {exc}\n")
        except KeyboardInterrupt:
            write("\nlab play: interrumpido\n")
            status = 130
        finally:
            if isinstance(target, LabTarget):
                write(f"$ {target.shown('down')}\n")
            try:
                down = target.down(write)
            except KeyboardInterrupt:
                down = target.down(write)
            if down != 0:
                write("lab play: `lab down` falló: revisa `lab status`\n")
                status = status or 1
    if status == 0 and player is not None:
        write(f"\nlab play: el curso funciona en {target.noun} ({player.blocks_run} bloques, "
              f"{player.verifies_run} verificaciones, {player.outputs_matched} salidas esperadas, "
              f"{player.promises_kept} promesas, "
              f"{time.monotonic() - start:.0f} s)\n")
    return status


def _play_on(target: Target, session: Session, apps: CourseApps, player: Player, write: Output) -> int:
    """Juega el curso en una sesión abierta; en un clúster, antes lo comprueba y después lo restaura."""
    if not target.is_cluster:
        player.play()
        return 0
    problems = readiness_problems(session.tool, apps)
    if problems:
        write("\nlab play: el clúster no está listo para el curso (no se ha ejecutado ningún bloque):\n"
              + "".join(f"  - {p}\n" for p in problems))
        return 1
    write(f"· el clúster está listo: {', '.join(apps.deployments)} disponibles, cada pod con istio-proxy, "
          "la política de reintentos de la malla y ningún VirtualService\n")
    saved = snapshot(session.tool, apps)
    try:
        player.play()
    finally:
        write("\n━━ Dejar el clúster como estaba\n")
        restored = restore(session.tool, apps, saved, write)
        write("· el clúster queda como estaba ✔\n" if restored else "lab play: no se pudo restaurar todo (arriba)\n")
    return 0 if restored else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lab play", description="Juega el curso entero como quien aprende.")
    parser.add_argument("--course", type=Path, default=Path(os.environ.get(COURSE_ENV, ".")),
                        help="carpeta del curso (por defecto, la actual)")
    parser.add_argument("--cluster", action="store_true",
                        help="contra el clúster del kubeconfig actual, con kubectl, istioctl y traza del PATH")
    parser.add_argument("--block-timeout", type=float, default=TIMEOUTS.block, help="segundos como mucho por bloque")
    args = parser.parse_args(argv)
    timeouts = Timeouts(block=args.block_timeout)
    return play_course(args.course, cluster=args.cluster, timeouts=timeouts)


if __name__ == "__main__":
    sys.exit(main())
