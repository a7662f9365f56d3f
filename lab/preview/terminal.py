"""La terminal de la vista previa: un bash en una PTY (shell.py) unido por WebSocket a xterm.js.

Una sola terminal por vista previa y una sola página conectada a ella: si se abre otra pestaña, la
anterior se desconecta («la terminal se abrió en otra pestaña»). Cuando la página se va (se cierra la
pestaña o se recarga) bash sigue DETACH_GRACE segundos, lo justo para que una recarga vuelva a la
misma terminal con lo último que se vio (REPLAY bytes); pasado ese tiempo, se acaba con su sesión.
Al parar la vista previa, también (`close`).

Protocolo (propio): el navegador manda texto JSON
{"type": "input", "data": "…"} o {"type": "resize", "rows": R, "cols": C}; el servidor manda la
salida de la PTY como mensajes binarios (xterm.js decodifica el UTF-8 aunque un carácter llegue
partido) y {"type": "exit"} en texto cuando bash termina (p. ej. con `exit`).

Todo corre en el bucle de asyncio de uvicorn menos `close`, que se puede llamar desde otro hilo.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from pathlib import Path

from starlette.websockets import WebSocket, WebSocketDisconnect

from lab.constants import NODE_NAME
from lab.preview.shell import CLOSE_GRACE, PtyShell

DETACH_GRACE = 5.0  # s que bash sobrevive a su página (una recarga vuelve a la misma terminal)
REPLAY = 256 * 1024  # bytes de salida que se repiten al volver a conectar
PAUSE_AT = 1024 * 1024  # bytes pendientes de enviar a partir de los que se deja de leer la PTY
MAX_INPUT = 1024 * 1024  # bytes tecleados pendientes de entrar en la PTY
WATCH_EVERY = 1.0  # s entre miradas a si bash sigue vivo
INTERRUPT_PAUSE = 0.3  # s entre el Ctrl-C de {{exec interrupt}} y el texto del bloque

BASHRC = f"""\
# La terminal de lab preview, como la de Killercoda (la escribe lab/preview/terminal.py).
[ -f /etc/bash.bashrc ] && . /etc/bash.bashrc
PS1='{NODE_NAME}:\\w$ '
alias ls='ls --color=auto' grep='grep --color=auto'
"""


def terminal_env(env: dict[str, str]) -> dict[str, str]:
    """El entorno de la sesión (HOME, PATH, KUBECONFIG…) con lo que espera un xterm en UTF-8."""
    out = {**env, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
    if "UTF-8" not in (out.get("LC_ALL") or out.get("LC_CTYPE") or out.get("LANG") or "").upper().replace("UTF8", "UTF-8"):
        out.pop("LC_ALL", None)
        out["LANG"] = "C.UTF-8"
    return out


class Terminal:
    """La terminal única de una vista previa. `session` da (entorno, carpeta de inicio) al arrancar bash."""

    def __init__(self, session: Callable[[], tuple[dict[str, str], Path]]) -> None:
        self._session = session
        self.shell: PtyShell | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ws: WebSocket | None = None
        self._outbox: asyncio.Queue[bytes | None] | None = None
        self._pending = 0  # bytes en _outbox
        self._paused = False
        self._scrollback = bytearray()
        self._input = bytearray()
        self._grace: asyncio.TimerHandle | None = None
        self.closed = False

    # ---------------------------------------------------------------- bash
    def _start(self, rows: int, cols: int) -> PtyShell:
        env, home = self._session()
        rc = home / ".bashrc"
        if not rc.exists():
            rc.write_text(BASHRC, encoding="utf-8")
        shell = PtyShell(terminal_env(env), home, rows=rows, cols=cols).start()
        self.shell = shell
        self._scrollback.clear()
        self._input.clear()
        self._paused = False
        assert self._loop is not None and shell.fd is not None
        self._loop.add_reader(shell.fd, self._on_output)
        self._loop.call_later(WATCH_EVERY, self._watch, shell)
        return shell

    def _watch(self, shell: PtyShell) -> None:
        """bash puede terminar (`exit`) sin que la PTY se cierre: un trabajo en segundo plano aún la tiene."""
        if self.shell is not shell or self._loop is None:
            return
        if shell.alive:
            self._loop.call_later(WATCH_EVERY, self._watch, shell)
        else:
            self._bash_ended()

    def _bash_ended(self) -> None:
        self._end()
        if self._outbox is not None:
            self._outbox.put_nowait(None)

    def _end(self) -> None:
        """Acaba con bash (en otro hilo: espera hasta CLOSE_GRACE s a que la sesión termine)."""
        shell, self.shell = self.shell, None
        if shell is None:
            return
        if self._loop is not None and shell.fd is not None:
            self._loop.remove_reader(shell.fd)
            self._loop.remove_writer(shell.fd)
            self._loop.run_in_executor(None, shell.close)
        else:
            shell.close()

    def _on_output(self) -> None:
        shell = self.shell
        if shell is None or self._loop is None:
            return
        data = shell.read()
        if data is None:  # bash terminó y nadie más tiene la PTY
            self._bash_ended()
            return
        if not data:
            return
        self._scrollback += data
        if len(self._scrollback) > REPLAY:
            cut = self._scrollback.find(b"\n", len(self._scrollback) - REPLAY)
            del self._scrollback[: cut + 1 if cut >= 0 else len(self._scrollback) - REPLAY]
        if self._outbox is not None:
            self._outbox.put_nowait(data)
            self._pending += len(data)
            if self._pending > PAUSE_AT and shell.fd is not None:  # la página no da abasto: que espere bash
                self._loop.remove_reader(shell.fd)
                self._paused = True

    def _resume(self) -> None:
        if self._paused and self.shell is not None and self.shell.fd is not None and self._loop is not None:
            self._loop.add_reader(self.shell.fd, self._on_output)
            self._paused = False

    def write(self, data: bytes) -> None:
        """Lo tecleado entra en la PTY en orden; si su entrada está llena, cuando haya sitio."""
        if self.shell is None or len(self._input) + len(data) > MAX_INPUT:
            return
        self._input += data
        self._flush_input()

    def _flush_input(self) -> None:
        shell = self.shell
        if shell is None or shell.fd is None or self._loop is None:
            self._input.clear()
            return
        if self._input:
            del self._input[: shell.write(bytes(self._input))]
        if self._input:
            self._loop.add_writer(shell.fd, self._flush_input)
        else:
            self._loop.remove_writer(shell.fd)

    async def type_block(self, code: str, interrupt: bool) -> bool:
        """Teclea un bloque como Killercoda: {{exec interrupt}} manda antes Ctrl-C; luego el texto e Intro."""
        if self.shell is None or self._ws is None:
            return False
        if interrupt:
            self.write(b"\x03")
            await asyncio.sleep(INTERRUPT_PAUSE)  # que el Ctrl-C llegue antes que el texto
        self.write(code.rstrip("\n").replace("\n", "\r").encode() + b"\r")
        return True

    # ---------------------------------------------------------------- la página
    async def attach(self, ws: WebSocket, rows: int = 24, cols: int = 80) -> None:
        """Atiende a una página (ya aceptada) hasta que se vaya; arranca bash si no hay."""
        if self.closed:
            await ws.close(code=1001, reason="la vista previa se está cerrando")
            return
        self._loop = asyncio.get_running_loop()
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        if self._ws is not None and self._outbox is not None:  # otra pestaña tenía la terminal: se cierra la suya
            self._outbox.put_nowait(None)
        outbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._ws, self._outbox, self._pending = ws, outbox, 0
        if self.shell is None:
            self._start(rows, cols)
        else:
            self._resume()
            if self._scrollback:
                outbox.put_nowait(bytes(self._scrollback))
        sender = asyncio.create_task(self._send(ws, outbox))
        try:
            while not sender.done():
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                self._on_message(message.get("text"))
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError, OSError):
                await sender  # RuntimeError/OSError: la página ya se había ido al cerrarla
            if self._ws is ws:
                self._ws, self._outbox = None, None
                self._resume()
                if self.shell is not None and not self.closed:
                    self._grace = self._loop.call_later(DETACH_GRACE, self._end)

    async def _send(self, ws: WebSocket, outbox: asyncio.Queue[bytes | None]) -> None:
        while True:
            data = await outbox.get()
            if data is None:
                if self._ws is ws:  # bash terminó (no la desconexión por otra pestaña)
                    await ws.send_text(json.dumps({"type": "exit"}))
                    await ws.close(code=1000, reason="bash terminó")
                else:
                    await ws.close(code=4001, reason="la terminal se abrió en otra pestaña")
                return
            await ws.send_bytes(data)
            if self._outbox is outbox:
                self._pending -= len(data)
                if self._pending < PAUSE_AT // 4:
                    self._resume()

    def _on_message(self, text: str | None) -> None:
        try:
            message = json.loads(text or "")
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        if message.get("type") == "input" and isinstance(message.get("data"), str):
            self.write(message["data"].encode("utf-8", errors="replace"))
        elif message.get("type") == "resize" and self.shell is not None:
            rows, cols = message.get("rows"), message.get("cols")
            if isinstance(rows, int) and isinstance(cols, int):
                self.shell.resize(rows, cols)

    def close(self) -> None:
        """Al parar la vista previa: acaba con bash y su sesión. Desde cualquier hilo: si el bucle de
        uvicorn sigue vivo, lo hace él (es quien vigila la PTY) y aquí se espera a que acabe."""
        self.closed = True
        loop = self._loop
        if loop is not None and loop.is_running():
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is not loop:
                asyncio.run_coroutine_threadsafe(self._close_in_loop(), loop).result(timeout=CLOSE_GRACE + 30)
                return
        shell, self.shell = self.shell, None
        if shell is not None:
            shell.close()

    async def _close_in_loop(self) -> None:
        shell, self.shell = self.shell, None
        if self._grace is not None:
            self._grace.cancel()
        if shell is None:
            return
        if shell.fd is not None and self._loop is not None:
            self._loop.remove_reader(shell.fd)
            self._loop.remove_writer(shell.fd)
        if self._outbox is not None:
            self._outbox.put_nowait(None)  # la página sabrá que bash terminó
        await asyncio.get_running_loop().run_in_executor(None, shell.close)
