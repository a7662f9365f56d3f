"""Markdown del curso → HTML como lo pinta Killercoda.

Lo que entiende, además de CommonMark con HTML:
- Los bloques con acción de lab.course.model (`Page.blocks`): la vista previa no busca vallas ni acciones
  por su cuenta. De cada bloque cercado toma `Block.span` para quitar el {{marcador}} de su valla de
  cierre (CommonMark no la reconoce como cierre con él) y reconocer su token; el código, la acción y
  el id salen del bloque. `código`{{exec}} en línea se reconoce por su línea y su código.
- `código`{{}} en línea: sin copia.
- Imágenes relativas al Markdown (también en <img src="…"> del HTML), servidas desde /files/ con
  el token; las que salen de la carpeta del curso no se sirven y se avisa.
- Enlaces {{TRAFFIC_HOST1_30000}} → http://127.0.0.1:30000 (el NodePort del laboratorio).

Los bloques ejecutables reciben el id «pagina:indice» de su bloque en `Page.blocks` (el que acepta
/api/run): el navegador nunca manda código, solo ese id y la huella del código.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from markdown_it import MarkdownIt

from lab.constants import NODE_PORT_IP
from lab.course.model import Block, Course, Page

IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
}

_MARKER_AT_START = re.compile(r"^\{\{(?P<name>[^{}]*)\}\}")
_TRAFFIC = re.compile(r"\{\{TRAFFIC_HOST\d+_(?P<port>\d+)\}\}")
_HTML_SRC = re.compile(r"""(?P<pre>\bsrc\s*=\s*)(?P<q>["'])(?P<src>[^"']*)(?P=q)""", re.IGNORECASE)


def digest(code: str) -> str:
    """Huella corta del código de un bloque: el cliente la devuelve para detectar texto cambiado."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()[:16]


@dataclass
class Rendered:
    html: str
    warnings: list[str] = field(default_factory=list)
    images: set[Path] = field(default_factory=set)  # ficheros de imagen servidos (para recargar al cambiar)
    runnable: list[str] = field(default_factory=list)  # ids de bloque con botón Ejecutar, en orden


class _Renderer:
    def __init__(self, course: Course, page: Page, token: str) -> None:
        self.course = course
        self.page = page
        self.token = token
        self.root = course.root.resolve()
        self.out = Rendered(html="")
        # Bloques de Page.blocks aún sin token: {línea de apertura (0-based): (índice, bloque)} y los en línea.
        self._fenced: dict[int, tuple[int, Block]] = {}
        self._inline: list[tuple[int, Block]] = []
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

    # ---------------------------------------------------------------- bloques de lab.course.model
    def _inline_block(self, action: str, code: str, lines: range | None) -> tuple[int, Block] | None:
        """El primer bloque en línea pendiente con esa acción y ese código en esas líneas (1-based)."""
        for n, (index, block) in enumerate(self._inline):
            if (block.action, block.code.strip()) == (action, code.strip()) and (lines is None or block.line in lines):
                del self._inline[n]
                return index, block
        return None

    def _unplaced(self) -> None:
        """Avisa de los bloques de Page.blocks que no salieron como código (p. ej. dentro de HTML)."""
        left = sorted([*self._fenced.values(), *self._inline], key=lambda found: found[0])
        for _, block in left:
            self.out.warnings.append(
                f"{self._rel(self.page.text)}:{block.line}: el bloque {{{{{block.action}}}}} no se ve como "
                "código en la página (¿dentro de un bloque HTML?); se queda sin botón"
            )

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
        found: tuple[int, Block] | None = token.meta.get("kc")
        info = token.info.strip()
        lang = re.split(r"[\s{]", info, maxsplit=1)[0] if info else ""
        # Con acción se muestra el código del bloque: lo que se ve es lo que ejecuta /api/run.
        code = found[1].code if found else token.content
        lang_cls = f' class="language-{html.escape(lang)}"' if lang else ""
        pre = f"<pre><code{lang_cls}>{html.escape(code.rstrip(chr(10)))}</code></pre>"
        if found is None:
            return f'<div class="kc-block">{pre}</div>\n'
        index, block = found
        if block.runs:
            block_id = f"{self.page.slug}:{index}"
            self.out.runnable.append(block_id)
            extra = ' data-interrupt="1"' if block.interrupts else ""
            return (
                f'<div class="kc-block kc-exec" id="b-{block_id.replace(":", "-")}"{extra}>{pre}'
                f'<div class="kc-actions">{self._buttons(block_id, block, True, True)}</div></div>\n'
            )
        return f'<div class="kc-block kc-copyblock">{pre}<div class="kc-actions">{self._buttons(None, None, True, False)}</div></div>\n'

    def _code_block(self, tokens, idx, options, env) -> str:
        return f'<div class="kc-block"><pre><code>{html.escape(tokens[idx].content.rstrip(chr(10)))}</code></pre></div>\n'

    def _code_inline(self, tokens, idx, options, env) -> str:
        token = tokens[idx]
        text = html.escape(token.content)
        found: tuple[int, Block] | None = token.meta.get("kc")
        if found and found[1].runs:
            index, block = found
            block_id = f"{self.page.slug}:{index}"
            self.out.runnable.append(block_id)
            return (
                f'<span class="kc-inline kc-exec" id="b-{block_id.replace(":", "-")}"><code>{text}</code>'
                f"{self._buttons(block_id, block, False, True)}</span>"
            )
        if token.meta.get("kc_marker") == "":  # `código`{{}}: sin copia
            return f"<code>{text}</code>"
        # {{copy}} y, por defecto, todo el código en línea: Killercoda lo copia al hacer clic.
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
        href = _TRAFFIC.sub(lambda m: f"http://{NODE_PORT_IP}:{m['port']}", unquote(href) if "%7B" in href else href)
        token.attrSet("href", href)
        if urlsplit(href).scheme in ("http", "https"):
            token.attrSet("target", "_blank")
            token.attrSet("rel", "noopener noreferrer")
        return self.md.renderer.renderToken(tokens, idx, options, env)

    # ---------------------------------------------------------------- todo
    def render(self) -> Rendered:
        # splitlines(): la misma numeración de líneas que lab.course.model.
        lines = self.page.text.read_text(encoding="utf-8").splitlines()
        for index, block in enumerate(self.page.blocks):
            if block.span is None:
                self._inline.append((index, block))
                continue
            opening, closing = block.span
            self._fenced[opening - 1] = (index, block)
            if 0 < closing <= len(lines):
                # lab.course.model ya validó que tras la valla solo va el {{marcador}}: se corta ahí.
                cut = lines[closing - 1].find("{{")
                if cut >= 0:
                    lines[closing - 1] = lines[closing - 1][:cut]
        tokens = self.md.parse("\n".join(lines) + "\n")
        for token in tokens:
            if token.type == "fence" and token.map:
                found = self._fenced.pop(token.map[0], None)
                if found is not None:
                    token.meta["kc"] = found
            if token.type == "inline" and token.children:
                self._mark_inline(token)
        self.out.html = self.md.renderer.render(tokens, self.md.options, {})
        self._unplaced()
        return self.out

    def _mark_inline(self, token) -> None:  # type: ignore[no-untyped-def]
        """Quita el {{marcador}} que sigue a un `código` y le asigna su bloque de Page.blocks."""
        kids = token.children
        lines = range(token.map[0] + 1, token.map[1] + 1) if token.map else None
        for i, child in enumerate(kids):
            if child.type != "code_inline" or i + 1 >= len(kids) or kids[i + 1].type != "text":
                continue
            m = _MARKER_AT_START.match(kids[i + 1].content)
            if not m:
                continue
            kids[i + 1].content = kids[i + 1].content[m.end():]
            child.meta["kc_marker"] = action = m["name"].strip()
            found = self._inline_block(action, child.content, lines)
            if found is not None:
                child.meta["kc"] = found


def render_page(course: Course, page: Page, token: str) -> Rendered:
    """HTML de una página del curso, con los botones de sus bloques y las URL de sus imágenes."""
    return _Renderer(course, page, token).render()
