"""`lab check`: las comprobaciones estáticas del curso, cada fallo como «fichero:línea: mensaje».

Sin clúster ni laboratorio; en menos de un minuto. Cada comprobación es una función
`(Ctx) -> list[Problem]`; corren en paralelo (casi todo el tiempo es de herramientas externas).

| nombre      | qué mira                                                                   | herramienta |
|-------------|----------------------------------------------------------------------------|-------------|
| index       | index.json: claves conocidas de Killercoda, backend.imageid, ficheros que   | —           |
|             | nombra (text/verify/background/foreground desde la raíz; assets en assets/) |             |
| markdown    | sintaxis {{exec}}/{{copy}} (sin espacio, sin {{execute}} de Katacoda, sin   | lab.course.model  |
|             | acciones desconocidas), imágenes y enlaces relativos que existen           |             |
| foreground  | los scripts foreground no acaban en líneas en blanco (Killercoda las teclea)| —           |
| shellcheck  | cada *.sh del curso y los scripts de index.json; todos los bloques {{exec}} | shellcheck  |
|             | del curso, juntos y en orden (una sola terminal), como bash               |             |
| hadolint    | apps/Dockerfile (y apps/**/Dockerfile*)                                    | hadolint    |
| manifests   | apps/k8s/*.yaml contra el esquema de Kubernetes, en modo estricto          | kubernetes-validate |
| bundle      | assets/curso.tar.gz al día con apps/ y tools/ (lab.course.bundle.bundle_is_current)| lab.course.bundle |
| spelling    | ortografía de la prosa (español de España + términos técnicos en inglés +  | cspell      |
|             | .cspell/glosario.txt); sin código, URLs ni front matter. También el texto  |             |
|             | que muestran los scripts de index.json y de tools/ (ver script_prose)      |             |

Exclusiones de shellcheck en los bloques {{exec}} (y solo en ellos), porque son órdenes que un
alumno teclea en una terminal interactiva y no un script:
- SC2164 («cd sin || exit»): en una terminal, un cd fallido se ve y no hay nada que abortar.
- SC2034 («variable sin usar»): el alumno define variables para usarlas a mano después.
- SC2154 («variable sin asignar»): la terminal de Killercoda trae variables propias (p. ej. las
  que exporta foreground.sh), que shellcheck no puede ver.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from lab.constants import COURSE_ENV
from lab.course.check.base import Ctx, Problem, make_ctx
from lab.course.check.index import check_index
from lab.course.check.markdown import check_foreground, check_markdown
from lab.course.check.spelling import check_spelling
from lab.course.check.tools import check_bundle, check_hadolint, check_manifests, check_shellcheck

__all__ = ["CHECKS", "Problem", "main", "run_checks"]


# --------------------------------------------------------------------------- orden `lab check`

CHECKS: dict[str, Callable[[Ctx], list[Problem]]] = {
    "index": check_index,
    "markdown": check_markdown,
    "foreground": check_foreground,
    "shellcheck": check_shellcheck,
    "hadolint": check_hadolint,
    "manifests": check_manifests,
    "bundle": check_bundle,
    "spelling": check_spelling,
}


def run_checks(root: Path, only: Iterable[str] | None = None) -> list[Problem]:
    """Corre las comprobaciones (todas, o las nombradas) y devuelve los problemas ordenados."""
    ctx = make_ctx(root)
    names = list(only) if only else list(CHECKS)
    problems: list[Problem] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(names)) as pool:
        futures = {pool.submit(CHECKS[n], ctx): n for n in names}
        for future in concurrent.futures.as_completed(futures):
            name = futures[future]
            try:
                problems += future.result()
            except subprocess.TimeoutExpired as exc:
                problems.append(Problem(ctx.root, 1, f"{name}: la herramienta tardó más de {exc.timeout} s"))
            except Exception as exc:  # noqa: BLE001 - un fallo interno se informa y no tapa el resto
                problems.append(Problem(ctx.root, 1, f"{name}: error interno del verificador: {type(exc).__name__}: {exc}"))
    return sorted(set(problems))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lab check", description="Comprobaciones estáticas del curso (sin clúster).")
    parser.add_argument(
        "--course", type=Path, default=Path(os.environ.get(COURSE_ENV, ".")), help="carpeta del curso (por defecto, la actual)"
    )
    parser.add_argument("--only", default="", help=f"solo estas comprobaciones, separadas por comas ({', '.join(CHECKS)})")
    parser.add_argument("--skip", default="", help="omite estas comprobaciones, separadas por comas")
    args = parser.parse_args(argv)
    only = [n for n in args.only.split(",") if n] or list(CHECKS)
    skip = {n for n in args.skip.split(",") if n}
    unknown = [n for n in [*only, *skip] if n not in CHECKS]
    if unknown:
        parser.error(f"comprobación desconocida: {', '.join(unknown)} (hay: {', '.join(CHECKS)})")
    names = [n for n in only if n not in skip]
    start = time.monotonic()
    problems = run_checks(args.course, names)
    for problem in problems:
        print(problem.show())
    elapsed = time.monotonic() - start
    sys.stdout.flush()
    if problems:
        print(f"lab check: {len(problems)} problema(s) ({', '.join(names)}; {elapsed:.1f} s)", file=sys.stderr)
        return 1
    print(f"lab check: todo en orden ({', '.join(names)}; {elapsed:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
