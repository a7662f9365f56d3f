"""Lo primero que hace el supervisor, antes de importar el resto del gemelo: carpetas de trabajo
nuevas en .lab/ y el lanzador de apps (lab/cluster/zygote.py).

Por qué aquí y tan pronto: el lanzador importa FastAPI (~0,7 s de CPU), el camino más largo de
`lab up`; arrancado antes de las importaciones del supervisor (servidor de API, controladores,
esquemas: ~0,25 s), las dos cosas corren a la vez en dos núcleos. Este módulo solo importa lo ligero.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from lab.cluster.appcmd import without_proxies
from lab.cluster.procs import Spawner, stop_all
from lab.cluster.zygote import Zygote, preload_modules
from lab.constants import COURSE_ENV, KUBE_CACHE_DIR, kubeconfig_path

RUN_DIRS = ("xds", "logs", KUBE_CACHE_DIR)  # lo que deja un laboratorio anterior y se rehace
LAUNCHER_LOG = Path("logs") / "launcher.log"


@dataclass
class Launcher:
    spawner: Spawner  # el hilo que hace todos los Popen (lab/cluster/procs.py)
    zygote: Zygote | None  # None con LAB_APP_LAUNCH=exec (cada app, un exec de uvicorn)

    def stop(self) -> None:
        if self.zygote is not None:
            stop_all([self.zygote.proc])
        self.spawner.close()


def start(course_root: Path, state_dir: Path) -> Launcher:
    """Carpetas de trabajo vacías, el Spawner y, salvo con LAB_APP_LAUNCH=exec, el cigoto."""
    for sub in RUN_DIRS:
        shutil.rmtree(state_dir / sub, ignore_errors=True)
    for sub in ("xds", "logs"):
        (state_dir / sub).mkdir(parents=True)
    kubeconfig_path(state_dir).unlink(missing_ok=True)
    spawner = Spawner()
    if os.environ.get("LAB_APP_LAUNCH") == "exec":
        return Launcher(spawner, None)
    proc = spawner.spawn(
        [sys.executable, "-m", "lab.cluster.zygote", *preload_modules(course_root)],
        state_dir / LAUNCHER_LOG,
        env=without_proxies(dict(os.environ)) | {COURSE_ENV: str(course_root)},
        cwd=state_dir,
        pipes=True,
    )
    return Launcher(spawner, Zygote(proc))
