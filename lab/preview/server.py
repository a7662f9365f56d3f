"""La aplicación FastAPI de la vista previa: páginas, API y la terminal por WebSocket.

Seguridad (el servidor solo escucha en 127.0.0.1; la terminal es ejecución de órdenes arbitrarias,
como la de Jupyter, así que se protege igual):
- Cada petición y cada WebSocket lleva el token aleatorio de esta ejecución (`?t=` en la URL o
  cabecera `X-Preview-Token`); sin él, o con otro, 403. El token va en la página servida, no en una cookie.
- La cabecera Host debe ser 127.0.0.1:<puerto> o localhost:<puerto> (frena el DNS rebinding), y en el
  WebSocket también Origin debe ser http://127.0.0.1:<puerto> o http://localhost:<puerto>: otra web
  abierta en el navegador no puede conectarse a la terminal (cross-site WebSocket hijacking).
- ▶ Ejecutar solo teclea bloques del curso: el cliente manda `{"block": "step1:3", "digest": "…"}`, el
  servidor vuelve a leer el curso con lab.course.model.load_course, busca ese bloque y exige que sea
  {{exec}}/{{exec interrupt}} y que su huella coincida. Comprobar manda solo el slug de la página y
  se ejecuta su verify.sh de index.json. Lo demás se teclea en la terminal.
- /files/ sirve solo imágenes de dentro de la carpeta del curso (sin .., sin enlaces que salgan), y
  /vendor/ solo los tres ficheros de xterm.js de vendor.py.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, WebSocket
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.responses import FileResponse

from lab.course.model import INDEX, Course, CourseError, Page, load_course
from lab.preview import vendor
from lab.preview.render import IMAGE_TYPES, Rendered, digest, render_page
from lab.preview.runtime import FAILED, NO_LAB, READY, STARTING, Lab, Learner, Log
from lab.preview.terminal import Terminal
from lab.preview.ui import chrome, page_html

_BLOCK_ID = re.compile(r"^(?P<slug>[a-z][a-z0-9_-]{0,30}):(?P<index>\d{1,4})$")
_SLUG = re.compile(r"^[a-z][a-z0-9_-]{0,30}$")


@dataclass
class Preview:
    """Estado de una ejecución de la vista previa."""

    root: Path
    token: str
    learner: Learner
    lab: Lab
    log: Log
    terminal: Terminal
    port: int = 0
    _files: set[Path] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # ------------------------------------------------------------------ curso
    def course(self) -> Course:
        return load_course(self.root)

    def watched(self) -> set[Path]:
        with self._lock:
            return {self.root / INDEX, *self._files}

    def remember(self, paths: set[Path]) -> None:
        with self._lock:
            self._files |= paths

    def version(self) -> str:
        """Cambia cuando cambia (mtime, tamaño) de index.json, un Markdown, un verify o una imagen."""
        parts = []
        for path in sorted(self.watched()):
            try:
                st = path.stat()
                parts.append(f"{path}:{st.st_mtime_ns}:{st.st_size}")
            except OSError:
                parts.append(f"{path}:-")
        return digest("|".join(parts))

    def render(self, slug: str) -> dict[str, Any]:
        """La página como la ve el cliente: HTML, navegación, avisos o el error del curso."""
        try:
            course = self.course()
        except CourseError as exc:
            self.remember({exc.file if exc.file.is_absolute() else self.root / exc.file})
            return {"error": str(exc), "slug": slug, "version": self.version(), "nav": [], "title": "Curso con errores"}
        self.remember({p.text for p in course.pages} | {p.verify for p in course.pages if p.verify})
        try:
            page = course.page(slug)
        except KeyError:
            return {"missing": True, "slug": slug}
        try:
            rendered: Rendered = render_page(course, page, self.token)
        except (OSError, UnicodeDecodeError) as exc:
            return {"error": f"{page.text}: {exc}", "slug": slug, "version": self.version(), "nav": [], "title": course.title}
        self.remember(rendered.images)
        slugs = [p.slug for p in course.pages]
        i = slugs.index(slug)
        return {
            "slug": slug,
            "course_title": course.title,
            "title": page.title,
            "label": _label(page, course),
            "html": rendered.html,
            "warnings": rendered.warnings,
            "verify": page.verify is not None,
            "prev": slugs[i - 1] if i > 0 else None,
            "next": slugs[i + 1] if i + 1 < len(slugs) else None,
            "nav": [{"slug": p.slug, "title": p.title, "label": _label(p, course)} for p in course.pages],
            "version": self.version(),
        }


def _label(page: Page, course: Course) -> str:
    if page.slug == "intro":
        return "Introducción"
    if page.slug == "finish":
        return "Final"
    steps = course.steps
    for n, step in enumerate(steps, start=1):
        if step.slug == page.slug:
            return f"Paso {n} de {len(steps)}"
    return page.slug


def _deny(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _allowed_hosts(port: int) -> tuple[str, str]:
    return f"127.0.0.1:{port}", f"localhost:{port}"


def _refusal(preview: Preview, ws: WebSocket) -> str | None:
    """Por qué no se acepta el WebSocket de la terminal; None si se acepta."""
    hosts = _allowed_hosts(preview.port)
    if not preview.port or ws.headers.get("host", "") not in hosts:
        return "Host no permitido"
    if ws.headers.get("origin", "") not in {f"http://{h}" for h in hosts}:
        return "Origin no permitido: solo la página de la vista previa abre su terminal"
    given = ws.query_params.get("t", "")
    if not hmac.compare_digest(given.encode(), preview.token.encode()):
        return "Falta el token de la vista previa o no es el de esta ejecución"
    return None


def _int(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() and len(value) < 5 else default


def create_app(preview: Preview) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def guard(request: Request, call_next):  # type: ignore[no-untyped-def]
        if preview.port and request.headers.get("host", "") not in _allowed_hosts(preview.port):
            return _deny(403, "Host no permitido: la vista previa solo atiende en 127.0.0.1")
        given = request.headers.get("x-preview-token") or request.query_params.get("t") or ""
        if not hmac.compare_digest(given.encode(), preview.token.encode()):
            return _deny(403, "Falta el token de la vista previa o no es el de esta ejecución")
        response: Response = await call_next(request)
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @app.get("/")
    def root() -> Response:
        try:
            first = preview.course().pages[0].slug
        except (CourseError, IndexError):
            first = "intro"
        return RedirectResponse(f"/page/{first}?t={preview.token}", status_code=303)

    def rendered(slug: str) -> dict | Response:
        """La página renderizada, o el 404 si el nombre no es válido o el curso no la tiene."""
        if not _SLUG.match(slug):
            return _deny(404, "No existe esa página")
        data = preview.render(slug)
        if data.get("missing"):
            return _deny(404, f"El curso no tiene la página «{slug}»")
        return data

    @app.get("/page/{slug}")
    def page(slug: str) -> Response:
        data = rendered(slug)
        if isinstance(data, Response):
            return data
        html, nonce = page_html(data, preview.token, preview.lab.state)
        sockets = " ".join(f"ws://{h}" for h in _allowed_hosts(preview.port))
        csp = (
            "default-src 'none'; "
            f"script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data: https: http:; connect-src 'self' {sockets}; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        )
        return HTMLResponse(html, headers={"Content-Security-Policy": csp})

    @app.get("/api/page/{slug}")
    def page_json(slug: str) -> Response:
        data = rendered(slug)
        return data if isinstance(data, Response) else JSONResponse({**data, **chrome(data, preview.token)})

    @app.get("/api/state")
    def state(since: int = 0) -> Response:
        return JSONResponse(
            {
                "version": preview.version(),
                "lab": preview.lab.state,
                "messages": [m.as_json() for m in preview.log.since(since)],
            }
        )

    async def _body(request: Request, keys: set[str]) -> dict[str, str] | JSONResponse:
        try:
            data = json.loads(await request.body() or b"null")
        except ValueError:
            return _deny(400, "El cuerpo debe ser JSON")
        if not isinstance(data, dict) or set(data) != keys or not all(isinstance(v, str) for v in data.values()):
            return _deny(403, "Solo se ejecutan bloques y comprobaciones del curso, nombrados por su id")
        return data

    def _lab_busy() -> JSONResponse | None:
        if preview.lab.state == READY:
            return None
        messages = {
            STARTING: "El laboratorio aún está arrancando",
            NO_LAB: "La vista previa se arrancó sin laboratorio",
            FAILED: "El laboratorio no arrancó: pulsa el estado sobre la terminal para ver lo que dijo lab up",
        }
        return _deny(409, messages.get(preview.lab.state, "El laboratorio está parado"))

    @app.post("/api/run")
    async def run(request: Request) -> Response:
        data = await _body(request, {"block", "digest"})
        if isinstance(data, JSONResponse):
            return data
        m = _BLOCK_ID.match(data["block"])
        if not m:
            return _deny(404, "No es un bloque del curso")
        try:
            course = preview.course()
            page = course.page(m["slug"])
        except CourseError as exc:
            return _deny(409, f"El curso tiene un error: {exc}")
        except KeyError:
            return _deny(404, "No es un bloque del curso")
        index = int(m["index"])
        if index >= len(page.blocks) or not page.blocks[index].runs:
            return _deny(404, "No es un bloque ejecutable del curso")
        block = page.blocks[index]
        if not hmac.compare_digest(digest(block.code), data["digest"]):
            return _deny(409, "El texto de la página ha cambiado: recárgala")
        busy = _lab_busy()
        if busy:
            return busy
        if not await preview.terminal.type_block(block.code, interrupt=block.interrupts):
            return _deny(409, "La terminal no está abierta: pulsa Intro en ella o recarga la página")
        return JSONResponse({"typed": data["block"]})

    @app.post("/api/check")
    async def check(request: Request) -> Response:
        data = await _body(request, {"page"})
        if isinstance(data, JSONResponse):
            return data
        try:
            page = preview.course().page(data["page"])
        except CourseError as exc:
            return _deny(409, f"El curso tiene un error: {exc}")
        except KeyError:
            return _deny(404, "No es una página del curso")
        if page.verify is None:
            return _deny(404, "Esa página no tiene verify.sh")
        busy = _lab_busy()
        if busy:
            return busy
        result = await asyncio.to_thread(preview.learner.session.verify, page)
        return JSONResponse({"page": page.slug, "title": page.title, "exit": result.exit_code, "output": result.output})

    @app.get("/vendor/{name}")
    def vendored(name: str) -> Response:
        if name not in vendor.FILES or not vendor.path(name).is_file():
            return _deny(404, vendor.missing() or "No existe ese fichero")
        return FileResponse(vendor.path(name), media_type=vendor.FILES[name][1])

    @app.websocket("/ws/terminal")
    async def terminal(ws: WebSocket) -> None:
        why = _refusal(preview, ws)
        if why is not None:
            await ws.close(code=1008, reason=why)  # antes de aceptar: uvicorn responde 403
            return
        await ws.accept()
        await preview.terminal.attach(ws, _int(ws.query_params.get("rows"), 24), _int(ws.query_params.get("cols"), 80))

    @app.get("/files/{path:path}")
    def files(path: str) -> Response:
        root = preview.root.resolve()
        target = (root / path).resolve()
        if (
            not target.is_relative_to(root)
            or any(part.startswith(".") for part in target.relative_to(root).parts)
            or target.suffix.lower() not in IMAGE_TYPES
            or not target.is_file()
        ):
            return _deny(404, "No existe esa imagen del curso")
        headers = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}
        return FileResponse(target, media_type=IMAGE_TYPES[target.suffix.lower()], headers=headers)

    return app
