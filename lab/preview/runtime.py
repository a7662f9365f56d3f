"""Lo que la vista previa tiene vivo además de la terminal (terminal.py): el laboratorio que arranca
y apaga, lo que va diciendo (un registro corto que la página muestra sobre la terminal) y la sesión
de quien aprende (lab/course/session.py, la misma que `lab play`: su HOME temporal con ~/curso, su
entorno y su verify.sh).

Los estados del laboratorio son valores para la máquina, en inglés; lo que lee una persona está en ui.py.
"""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.course.session import Session, Target

MAX_MESSAGES = 400

# Estados del laboratorio de la vista previa.
STARTING, READY, FAILED, NO_LAB, STOPPING, STOPPED = "starting", "ready", "error", "no-lab", "stopping", "stopped"


@dataclass(frozen=True)
class Message:
    n: int
    kind: str  # "sys" | "ok" | "fail"
    text: str

    def as_json(self) -> dict[str, Any]:
        return {"n": self.n, "kind": self.kind, "text": self.text}


class Log:
    """Lo que dice el laboratorio al arrancar (`lab up`), numerado para que la página pida lo nuevo."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: list[Message] = []
        self._counter = itertools.count(1)

    def write(self, kind: str, text: str) -> None:
        with self._lock:
            self._messages.append(Message(next(self._counter), kind, text))
            del self._messages[:-MAX_MESSAGES]

    def since(self, n: int) -> list[Message]:
        with self._lock:
            return [m for m in self._messages if m.n > n]

    def text(self) -> str:
        with self._lock:
            return "\n".join(m.text for m in self._messages)


class Learner:
    """La sesión de quien aprende, creada al primer uso con el entorno de `env_factory` (el de `lab play`)."""

    def __init__(self, root: Path, env_factory: Callable[[], dict[str, str]]) -> None:
        self.root = root
        self.env_factory = env_factory
        self._session: Session | None = None
        self._lock = threading.Lock()

    @property
    def session(self) -> Session:
        with self._lock:
            if self._session is None:
                self._session = Session(self.root, self.env_factory())
            return self._session

    def shell_setup(self) -> tuple[dict[str, str], Path]:
        """(entorno, carpeta de inicio) para la terminal."""
        session = self.session
        return session.env, session.home

    def close(self) -> None:
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()


class Lab:
    """El laboratorio de la vista previa sobre un Target: `up` en un hilo al empezar, `down` al salir (siempre)."""

    def __init__(self, target: Target | None, log: Log) -> None:
        self.target = target
        self.log = log
        self.state = STARTING if target is not None else NO_LAB
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopping = False
        self.ready = threading.Event()

    def start(self) -> None:
        if self.target is None:
            self.log.write("sys", "Vista previa sin laboratorio: kubectl no tiene clúster; Ejecutar y Comprobar, desactivados.")
            return
        self._thread = threading.Thread(target=self._up, name="lab-up", daemon=True)
        self._thread.start()

    def _up(self) -> None:
        assert self.target is not None
        self.log.write("sys", "Arrancando el laboratorio (lab up --detach)…")
        try:
            code = self.target.up(lambda text: self.log.write("sys", text.rstrip("\n")))
        except OSError as exc:
            self.log.write("fail", f"No se pudo arrancar el laboratorio: {exc}")
            self.state = FAILED
            return
        with self._lock:
            if self._stopping:
                return
            if code == 0:
                self.state = READY
                self.log.write("ok", "Laboratorio listo: pulsa ▶ Ejecutar en los bloques del texto o escribe en la terminal.")
                self.ready.set()
            else:
                self.state = FAILED
                self.log.write("fail", f"El laboratorio no arrancó (lab up salió con {code}).")

    def stop(self) -> None:
        """Para un `up` que siga en marcha y ejecuta `down`. Idempotente."""
        with self._lock:
            if self.target is None or self._stopping:
                return
            self._stopping = True
        self.target.cancel()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.state = STOPPING
        print("Apagando el laboratorio (lab down)…", file=sys.stderr, flush=True)
        try:
            code = self.target.down(lambda text: print(text.rstrip("\n"), file=sys.stderr, flush=True))
        except OSError as exc:
            code = -1
            print(f"lab down falló: {exc}", file=sys.stderr, flush=True)
        if code != 0:
            print(f"lab down salió con {code}", file=sys.stderr, flush=True)
        self.state = STOPPED
