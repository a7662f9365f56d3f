"""Markdown del curso → HTML como lo pinta Killercoda.

Lo que entiende, además de CommonMark con HTML:
- `código`{{exec}} / {{exec interrupt}} / {{copy}} / {{}} en línea, y la valla de cierre con
  marcador (```{{exec}}), que CommonMark no reconoce como cierre (por eso se normaliza antes).
- Imágenes relativas al Markdown (también en <img src="…"> del HTML), servidas desde /files/ con
  el token; las que salen de la carpeta del curso no se sirven y se avisa.
- Enlaces {{TRAFFIC_HOST1_30000}} → http://127.0.0.1:30000 (el NodePort del laboratorio).

Los bloques ejecutables reciben el id «pagina:indice» del bloque en `Page.blocks` de
lab.course.load_course, emparejando por acción y código: el navegador nunca manda código, solo ese id.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from markdown_it import MarkdownIt

from lab.course import Block, Course, Page

IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
}

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_FENCE_CLOSE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<rest>.*)$")
_MARKER_AT_START = re.compile(r"^\{\{(?P<name>[^{}]*)\}\}")
_TRAFFIC = re.compile(r"\{\{TRAFFIC_HOST\d+_(?P<port>\d+)\}\}")
_HTML_SRC = re.compile(r"""(?P<pre>\bsrc\s*=\s*)(?P<q>["'])(?P<src>[^"']*)(?P=q)""", re.IGNORECASE)


def digest(code: str) -> str:
    """Huella corta del código de un bloque: el cliente la devuelve para detectar texto cambiado."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()[:16]


def _norm(code: str) -> str:
    return "\n".join(line.rstrip() for line in code.strip("\n").splitlines()).strip()


@dataclass
class Rendered:
    html: str
    warnings: list[str] = field(default_factory=list)
    images: set[Path] = field(default_factory=set)  # ficheros de imagen servidos (para recargar al cambiar)
    runnable: list[str] = field(default_factory=list)  # ids de bloque con botón Ejecutar, en orden


def _normalise_fences(source: str) -> tuple[str, dict[int, str]]:
    """Quita el {{marcador}} de las vallas de cierre. Devuelve el texto y {línea de apertura: acción}."""
    lines = source.split("\n")
    markers: dict[int, str] = {}
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i])
        if not m:
            i += 1
            continue
        fence = m["fence"]
        j = i + 1
        while j < len(lines):
            c = _FENCE_CLOSE.match(lines[j])
            if c and c["fence"][0] == fence[0] and len(c["fence"]) >= len(fence):
                rest = c["rest"]
                if rest.strip() == "" or rest.lstrip().startswith("{{"):
                    mk = _MARKER_AT_START.match(rest.lstrip())
                    if mk:
                        markers[i] = mk["name"].strip()
                    lines[j] = c["indent"] + c["fence"]
                    break
            j += 1
        i = j + 1
    return "\n".join(lines), markers


class _Renderer:
    def __init__(self, course: Course, page: Page, token: str) -> None:
        self.course = course
        self.page = page
        self.token = token
        self.root = course.root.resolve()
        self.out = Rendered(html="")
        self._cursor = 0
        self.md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
        self.md.enable("table")
        self.md.enable("strikethrough")
        rules = self.md.renderer.rules  # métodos ligados a este _Renderer (add_render_rule los religa)
        rules["fence"] = self._fence
        rules["code_block"] = self._code_block
        rules["code_inline"] = self._code_inline
        rules["image"] = self._image
        rules["html_block"] = self._html
        rules["html_inline"] = self._html
        rules["link_open"] = self._link_open

    # ---------------------------------------------------------------- emparejar con lab.course
    def _match(self, action: str, code: str) -> tuple[str, Block] | None:
        """El siguiente bloque de Page.blocks con esa acción y ese código (en orden de lectura)."""
        wanted = _norm(code)
        for index in range(self._cursor, len(self.page.blocks)):
            block = self.page.blocks[index]
            if block.action == action and _norm(block.code) == wanted:
                self._cursor = index + 1
                return f"{self.page.slug}:{index}", block
        self.out.warnings.append(
            f"{self._rel(self.page.text)}: un bloque {{{{{action}}}}} no coincide con lo que lee lab.course "
            f"({code.strip().splitlines()[0][:60] if code.strip() else '(vacío)'!r}); se muestra sin botón Ejecutar"
        )
        return None

    def _rel(self, path: Path) -> str:
        try:
            return Path(path).resolve().relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    # ---------------------------------------------------------------- reglas de salida
    def _buttons(self, block_id: str | None, block: Block | None, copy: bool, run: bool) -> str:
        parts = []
        if run and block_id and block is not None:
            parts.append(
                f'<button type="button" class="kc-run" data-block="{block_id}" '
                f'data-digest="{digest(block.code)}" title="Ejecutar en el terminal">▶ Ejecutar</button>'
            )
        if copy:
            parts.append('<button type="button" class="kc-copy" title="Copiar al portapapeles">Copiar</button>')
        return "".join(parts)

    def _fence(self, tokens, idx, options, env) -> str:
        token = tokens[idx]
        action = token.meta.get("kc", "")
        info = token.info.strip()
        lang = re.split(r"[\s{]", info, maxsplit=1)[0] if info else ""
        code = token.content
        body = html.escape(code.rstrip("\n"))
        lang_cls = f' class="language-{html.escape(lang)}"' if lang else ""
        pre = f"<pre><code{lang_cls}>{body}</code></pre>"
        if action in ("exec", "exec interrupt"):
            found = self._match(action, code)
            block_id, block = found if found else (None, None)
            if block_id:
                self.out.runnable.append(block_id)
            extra = ' data-interrupt="1"' if action == "exec interrupt" else ""
            attrs = f' id="b-{block_id.replace(":", "-")}"' if block_id else ""
            return (
                f'<div class="kc-block kc-exec"{attrs}{extra}>{pre}'
                f'<div class="kc-actions">{self._buttons(block_id, block, True, True)}</div></div>\n'
            )
        if action == "copy":
            self._match("copy", code)
            return f'<div class="kc-block kc-copyblock">{pre}<div class="kc-actions">{self._buttons(None, None, True, False)}</div></div>\n'
        return f'<div class="kc-block">{pre}</div>\n'

    def _code_block(self, tokens, idx, options, env) -> str:
        return f'<div class="kc-block"><pre><code>{html.escape(tokens[idx].content.rstrip(chr(10)))}</code></pre></div>\n'

    def _code_inline(self, tokens, idx, options, env) -> str:
        token = tokens[idx]
        code = token.content
        action = token.meta.get("kc")
        text = html.escape(code)
        if action in ("exec", "exec interrupt"):
            found = self._match(action, code)
            if found:
                block_id, block = found
                self.out.runnable.append(block_id)
                return (
                    f'<span class="kc-inline kc-exec" id="b-{block_id.replace(":", "-")}"><code>{text}</code>'
                    f"{self._buttons(block_id, block, False, True)}</span>"
                )
            return f'<code class="kc-inline-code">{text}</code>'
        if action == "":  # `código`{{}}: sin copia
            return f"<code>{text}</code>"
        if action == "copy":
            self._match("copy", code)
        # Por defecto Killercoda copia el código en línea al hacer clic.
        return f'<code class="kc-copyable" title="Haz clic para copiar">{text}</code>'

    def _file_url(self, src: str) -> str | None:
        """URL servida para una imagen relativa al Markdown; None si no se puede servir."""
        parts = urlsplit(src)
        if parts.scheme or src.startswith("//"):
            return src if parts.scheme in ("http", "https", "data") else None
        target = (self.page.text.parent / unquote(parts.path)).resolve()
        if not target.is_relative_to(self.root):
            self.out.warnings.append(f"{self._rel(self.page.text)}: la imagen {src!r} está fuera del curso")
            return None
        if target.suffix.lower() not in IMAGE_TYPES:
            self.out.warnings.append(f"{self._rel(self.page.text)}: {src!r} no es una imagen (png, jpg, gif, svg, webp)")
            return None
        if not target.is_file():
            self.out.warnings.append(f"{self._rel(self.page.text)}: no existe la imagen {src!r}")
            return None
        self.out.images.add(target)
        rel = target.relative_to(self.root).as_posix()
        return f"/files/{quote(rel)}?t={quote(self.token)}"

    def _image(self, tokens, idx, options, env) -> str:
        token = tokens[idx]
        src = token.attrGet("src") or ""
        alt = html.escape(self.md.renderer.renderInlineAsText(token.children or [], options, env))
        url = self._file_url(src)
        title = token.attrGet("title")
        title_attr = f' title="{html.escape(title)}"' if title else ""
        if url is None:
            return f'<span class="kc-missing" title="{html.escape(src)}">[imagen no disponible: {alt or html.escape(src)}]</span>'
        return f'<img src="{html.escape(url)}" alt="{alt}"{title_attr}>'

    def _html(self, tokens, idx, options, env) -> str:
        content = tokens[idx].content

        def swap(m: re.Match[str]) -> str:
            url = self._file_url(m["src"])
            return f'{m["pre"]}{m["q"]}{html.escape(url or "")}{m["q"]}'

        return _HTML_SRC.sub(swap, content)

    def _link_open(self, tokens, idx, options, env) -> str:
        token = tokens[idx]
        href = token.attrGet("href") or ""
        href = _TRAFFIC.sub(lambda m: f"http://127.0.0.1:{m['port']}", unquote(href) if "%7B" in href else href)
        token.attrSet("href", href)
        if urlsplit(href).scheme in ("http", "https"):
            token.attrSet("target", "_blank")
            token.attrSet("rel", "noopener noreferrer")
        return self.md.renderer.renderToken(tokens, idx, options, env)

    # ---------------------------------------------------------------- todo
    def render(self) -> Rendered:
        source = self.page.text.read_text(encoding="utf-8")
        normalised, markers = _normalise_fences(source)
        tokens = self.md.parse(normalised)
        for token in tokens:
            if token.type == "fence" and token.map:
                token.meta["kc"] = markers.get(token.map[0], "")
            if token.type == "inline" and token.children:
                kids = token.children
                for i, child in enumerate(kids):
                    if child.type != "code_inline" or i + 1 >= len(kids) or kids[i + 1].type != "text":
                        continue
                    m = _MARKER_AT_START.match(kids[i + 1].content)
                    if m:
                        child.meta["kc"] = m["name"].strip()
                        kids[i + 1].content = kids[i + 1].content[m.end():]
        self.out.html = self.md.renderer.render(tokens, self.md.options, {})
        runnable_in_course = [b for b in self.page.blocks if b.runs]
        if len(self.out.runnable) != len(runnable_in_course):
            self.out.warnings.append(
                f"{self._rel(self.page.text)}: lab.course ve {len(runnable_in_course)} bloques ejecutables y "
                f"la vista previa {len(self.out.runnable)}"
            )
        return self.out


def render_page(course: Course, page: Page, token: str) -> Rendered:
    """HTML de una página del curso, con los botones de sus bloques y las URL de sus imágenes."""
    return _Renderer(course, page, token).render()
