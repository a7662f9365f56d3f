"""Un JSONPath de kubectl reducido (`-o jsonpath='...'`) sobre los objetos que el laboratorio sintetiza.

Entiende plantillas con texto y expresiones {…}: campos `.a.b`, índices `[0]`, todos `[*]` y
filtros `[?(@.campo=="valor")]` (también !=). Varios resultados se unen con espacios, como kubectl.
Un campo que no existe es un error («... is not found»); un filtro sin coincidencias, vacío.
"""

from __future__ import annotations

import json
import re
from typing import Any

from lab.errors import LabError

TOKEN = re.compile(r"""\.([A-Za-z0-9_-]+)|\[(\d+|\*)\]|\[\?\(@\.([A-Za-z0-9_.-]+)\s*(==|!=)\s*(?:"([^"]*)"|'([^']*)')\)\]""")


def render(template: str, data: Any) -> str:
    out, pos = [], 0
    for match in re.finditer(r"\{([^{}]*)\}", template):
        out.append(template[pos:match.start()])
        out.append(" ".join(_text(v) for v in evaluate(match.group(1).strip(), data)))
        pos = match.end()
    out.append(template[pos:])
    return "".join(out)


def evaluate(expr: str, data: Any) -> list[Any]:
    if expr in ("", "."):
        return [data]
    if expr.startswith("$"):
        expr = expr[1:]
    values = [data]
    pos = 0
    while pos < len(expr):
        match = TOKEN.match(expr, pos)
        if not match:
            raise LabError(f"error: jsonpath «{expr}» no soportado por el laboratorio (not supported by the lab)")
        field, index, fkey, op, fval1, fval2 = match.groups()
        nxt: list[Any] = []
        for value in values:
            if field is not None:
                if not isinstance(value, dict) or field not in value:
                    raise LabError(f"error: error executing jsonpath \"{{{expr}}}\": {field} is not found")
                nxt.append(value[field])
            elif index is not None:
                items = value if isinstance(value, list) else []
                nxt.extend(items if index == "*" else items[int(index):int(index) + 1])
            else:
                wanted = fval1 if fval1 is not None else fval2
                for item in value if isinstance(value, list) else []:
                    got = _get(item, fkey)
                    if (got == wanted) == (op == "=="):
                        nxt.append(item)
        values = nxt
        pos = match.end()
    return values


def _get(item: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(item, dict) or part not in item:
            return None
        item = item[part]
    return item


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":"))
