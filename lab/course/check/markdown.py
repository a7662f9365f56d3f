"""The pages' Markdown ({{exec}}/{{copy}} syntax, images, links) and the foreground scripts."""

from __future__ import annotations

import re
from pathlib import Path

from lab.course.check.base import (
    Ctx,
    Problem,
    index_pages,
)
from lab.course.model import marker_problems, prose_lines

# --------------------------------------------------------------------------- Markdown

_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
_MD_LINK = re.compile(r"(?P<bang>!?)\[(?P<text>[^\]]*)\]\(\s*(?P<target><[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")
_HTML_REF = re.compile(r"<(?P<tag>img|a|source)\b[^>]*?\b(?:src|href)\s*=\s*[\"'](?P<target>[^\"']+)[\"']", re.I)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def relative_dir(md: Path, root: Path) -> str:
    return str(md.parent.relative_to(root)) if md.parent != root else "."


def check_markdown(ctx: Ctx) -> list[Problem]:
    out: list[Problem] = []
    for md in ctx.markdown:
        out += [Problem(e.file, e.line, e.message) for e in marker_problems(md)]
        for number, text in prose_lines(md):
            text = _CODE_SPAN.sub(lambda m: " " * len(m.group(0)), text)
            refs = [(m["bang"] == "!", m["target"].strip("<>")) for m in _MD_LINK.finditer(text)]
            refs += [(m["tag"].lower() in {"img", "source"}, m["target"]) for m in _HTML_REF.finditer(text)]
            for is_image, target in refs:
                kind = "imagen" if is_image else "enlace"
                if "{{" in target or target.startswith("#") or _SCHEME.match(target) or target.startswith("//"):
                    if is_image and target.startswith(("http:", "https:", "//")):
                        out.append(
                            Problem(
                                md,
                                number,
                                f"imagen remota «{target}»: guarda la imagen junto al Markdown"
                                " (Killercoda no siempre llega a otros sitios)",
                            )
                        )
                    continue
                local = target.split("#", 1)[0].split("?", 1)[0]
                if not local:
                    continue
                if local.startswith("/"):
                    out.append(Problem(md, number, f"{kind} «{target}» con ruta absoluta: usa una ruta relativa al Markdown"))
                    continue
                if not (md.parent / local).exists():
                    out.append(
                        Problem(
                            md,
                            number,
                            f"{kind} {'rota' if is_image else 'roto'}: no existe «{local}» (relativo a {relative_dir(md, ctx.root)}/)",
                        )
                    )
    return out


# --------------------------------------------------------------------------- foreground


def check_foreground(ctx: Ctx) -> list[Problem]:
    out: list[Problem] = []
    for _, page in index_pages(ctx.index or {}):
        value = page.get("foreground")
        if not isinstance(value, str) or not (ctx.root / value).is_file():
            continue
        path = ctx.root / value
        # En bytes: read_text() traduce \r\n a \n y la regla de CRLF no vería nunca un \r.
        text = path.read_bytes().decode("utf-8", errors="replace")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # el salto de línea que cierra la última línea no es una línea en blanco
        blank = len(lines)
        while blank > 0 and not lines[blank - 1].strip():
            blank -= 1
        if blank < len(lines):
            out.append(
                Problem(
                    path,
                    blank + 1,
                    f"el script foreground acaba en {len(lines) - blank} línea(s) en blanco:"
                    " Killercoda las teclea en la terminal del alumno",
                )
            )
        if "\r" in text:
            out.append(Problem(path, 1, "el script foreground tiene finales de línea CRLF"))
    return out
