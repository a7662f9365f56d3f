"""La salida de los contenedores, recogida como la recoge el runtime (containerd) en Kubernetes.

En un nodo, la salida de un contenedor va por una tubería al runtime, que anota la hora a la que
le llega cada línea; `kubectl logs --timestamps` muestra esa hora (RFC 3339 con nanosegundos, en
UTC: `2026-11-28T01:02:03.123456789Z <línea>`). Aquí igual:

- Cada contenedor (app e istio-proxy) escribe en una FIFO, `.lab/logs/<pod>/<contenedor>.fifo`,
  que abre como abría antes su archivo de registro (el cigoto con os.open, el Spawner con open,
  Envoy reabriendo /dev/stdout): ni las apps ni sus procesos cambian.
- Un hilo del supervisor (epoll) lee todas las FIFO y, por cada trozo que llega, toma la hora
  (time.time_ns) y escribe primero una marca por cada línea que ese trozo termina en
  `<contenedor>.times` y después los bytes, tal cual, en `<contenedor>.log`. Así el .log es
  idéntico byte a byte a la salida del proceso y la línea i del .log tiene su marca en el registro
  i del .times (ancho fijo, `RECORD` bytes), que ya está escrito cuando la línea aparece.
- Cuando todos los escritores cierran (el contenedor terminó), se cierra su salida y se borra la FIFO.
- `sync()` espera a que lo que los contenedores ya escribieron esté en los .log: una app escribe su
  línea antes de contestar, pero la respuesta puede llegar a quien hizo el curl antes de que este
  hilo copie la línea. `kubectl logs` y el recuento de las pruebas lo piden antes de leer, como si
  el runtime fuera instantáneo.

Las marcas son la hora de llegada, como en containerd: una app escribe su línea antes de contestar,
así que la línea de app2 llega antes que la de la llamada de backend1 que la esperaba.
"""

from __future__ import annotations

import errno
import os
import select
import threading
import time
from pathlib import Path

STAMP_WIDTH = len("2026-11-28T01:02:03.123456789Z")
RECORD = STAMP_WIDTH + 1  # la marca y un salto de línea
CHUNK = 65536


def format_stamp(ns: int) -> str:
    """Nanosegundos desde la época → RFC 3339 con 9 decimales en UTC, como kubelet (RFC3339NanoFixed)."""
    seconds, fraction = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:09d}Z"


def times_path(log: Path) -> Path:
    """Dónde están las marcas de las líneas de `log` (<contenedor>.log → <contenedor>.times)."""
    return log.with_suffix(".times")


class _Stream:
    """La salida de un contenedor: su FIFO, su .log y su .times."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.fifo = log.with_suffix(".fifo")
        self.fifo.unlink(missing_ok=True)
        os.mkfifo(self.fifo, 0o600)
        # Abrir para leer sin bloquear: la FIFO ya tiene lector cuando el contenedor la abre.
        self.fd = os.open(self.fifo, os.O_RDONLY | os.O_NONBLOCK)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
        self.out = os.open(log, flags, 0o644)
        self.times = os.open(times_path(log), flags, 0o644)
        self.ended_with_newline = True
        self.done = threading.Event()

    def write(self, chunk: bytes, stamp: int) -> None:
        """Primero una marca por cada línea que el trozo termina; luego los bytes, tal cual."""
        lines = chunk.count(b"\n")
        if lines:
            os.write(self.times, ((format_stamp(stamp) + "\n") * lines).encode())
        os.write(self.out, chunk)
        self.ended_with_newline = chunk.endswith(b"\n")

    def finish(self, stamp: int) -> None:
        if not self.ended_with_newline:  # la última línea, sin salto final, también tiene su marca
            os.write(self.times, (format_stamp(stamp) + "\n").encode())
        for fd in (self.fd, self.out, self.times):
            os.close(fd)
        self.fifo.unlink(missing_ok=True)
        self.done.set()

    def hang_up(self) -> None:
        """Despierta al lector de una FIFO sin escritores (un contenedor que nunca la abrió)."""
        try:
            os.close(os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENXIO):
                raise


class OutputCollector:
    """El lector de la salida de todos los contenedores: un hilo con epoll.

    Con EPOLLET, epoll entrega las FIFO en el orden en que pasaron a tener datos, y cada trozo leído
    recibe una marca estrictamente mayor que la anterior (de cualquier contenedor): el orden de
    las marcas es el orden de llegada, también entre contenedores distintos.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._epoll = select.epoll()
        self._streams: dict[int, _Stream] = {}  # fd de lectura → salida
        self._by_log: dict[Path, _Stream] = {}
        self._last = 0
        self._stopping = False
        self._syncs: list[threading.Event] = []  # sync() pendientes (ver _run)
        self._wake_r, self._wake_w = os.pipe()
        self._epoll.register(self._wake_r, select.EPOLLIN)
        self._thread = threading.Thread(target=self._run, name="container-logs", daemon=True)
        self._thread.start()

    def pipe(self, log: Path) -> Path:
        """Prepara la salida de un contenedor que se registra en `log`; devuelve la FIFO en la que
        debe escribir el proceso (su stdout y stderr)."""
        with self._lock:
            for path, old in list(self._by_log.items()):
                if old.done.is_set():
                    del self._by_log[path]  # contenedores que ya terminaron (su .log queda)
            if log in self._by_log:
                raise RuntimeError(f"{log} ya tiene un lector")
            stream = _Stream(log)
            self._by_log[log] = stream
            self._streams[stream.fd] = stream
            # En Linux, una FIFO que aún no tuvo escritor no da EPOLLHUP: se espera al contenedor.
            self._epoll.register(stream.fd, select.EPOLLIN | select.EPOLLET)
        return stream.fifo

    def _stamp(self) -> int:
        self._last = max(time.time_ns(), self._last + 1)  # la hora de llegada, siempre creciente
        return self._last

    def _run(self) -> None:
        # Un sync() recogido al procesar la vuelta k se cumple tras la vuelta k+1, que no espera
        # (poll(0)): lo que se escribió antes de pedirlo había puesto su FIFO en la lista de listos de
        # epoll, así que esa vuelta (o lo que quedaba de la k) lo lee, y en el orden de llegada.
        taken: list[threading.Event] = []
        while True:
            new: list[threading.Event] = []
            for fd, _ in self._epoll.poll(0 if taken else -1):  # en el orden en que las FIFO se llenaron
                if fd == self._wake_r:
                    os.read(self._wake_r, 4096)
                    with self._lock:
                        new += self._syncs
                        self._syncs = []
                    if self._stopping:
                        for event in taken + new:
                            event.set()
                        return
                    continue
                with self._lock:
                    stream = self._streams.get(fd)
                if stream is not None:
                    self._drain(stream)
            for event in taken:
                event.set()
            taken = new

    def _drain(self, stream: _Stream) -> None:
        while True:  # con EPOLLET hay que leer hasta vaciarla
            try:
                chunk = os.read(stream.fd, CHUNK)
            except BlockingIOError:
                return
            stamp = self._stamp()
            if not chunk:  # sin escritores: el contenedor terminó
                with self._lock:
                    self._epoll.unregister(stream.fd)
                    del self._streams[stream.fd]
                    stream.finish(stamp)
                return
            stream.write(chunk, stamp)

    def sync(self, timeout: float = 2.0) -> bool:
        """Espera a que todo lo escrito en las FIFO hasta ahora esté en los .log (False si no dio tiempo)."""
        done = threading.Event()
        with self._lock:
            if self._stopping or not self._thread.is_alive():
                return True
            self._syncs.append(done)
        os.write(self._wake_w, b"s")
        return done.wait(timeout)

    def wait(self, log: Path, timeout: float) -> bool:
        """Espera a que la salida de un contenedor que ya terminó esté entera en `log`."""
        with self._lock:
            stream = self._by_log.get(log)
        return stream is None or stream.done.wait(timeout)

    def close(self, timeout: float = 2.0) -> None:
        """Con los procesos ya parados: termina de leer todo y cierra (también FIFOs nunca abiertas)."""
        with self._lock:
            streams = list(self._by_log.values())
        deadline = time.monotonic() + timeout
        for stream in streams:
            if not stream.done.is_set():
                stream.hang_up()
        for stream in streams:
            stream.done.wait(max(0.0, deadline - time.monotonic()))
        self._stopping = True
        os.write(self._wake_w, b"x")
        self._thread.join(max(0.0, deadline - time.monotonic()) + 1.0)
        if not self._thread.is_alive():
            self._epoll.close()
            os.close(self._wake_r)
            os.close(self._wake_w)
