"""Lectura de *datos* en fuentes Go de Istio: literales compuestos de las tablas de casos de prueba.

No interpreta Go: reconoce los pocos literales que usan las tablas de casos (structs, listas,
cadenas, enteros, duraciones, envoltorios de bool) y convierte cada uno en un valor de Python.
Lo que no reconoce es un error con su posición: si Istio cambia la forma de sus tablas, la
regeneración falla en vez de escribir datos a medias.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

TOKEN = re.compile(
    r"""(?P<space>\s+|//[^\n]*|/\*.*?\*/)
      |(?P<raw>`[^`]*`)
      |(?P<str>"(?:[^"\\\n]|\\.)*")
      |(?P<num>[0-9]+(?:\.[0-9]+)?)
      |(?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      |(?P<rune>'(?:[^'\\\n]|\\.)+')
      |(?P<op>:=|\S)""",
    re.VERBOSE | re.DOTALL,
)
NANOS = {"time.Nanosecond": 1, "time.Microsecond": 10**3, "time.Millisecond": 10**6, "time.Second": 10**9,
         "time.Minute": 60 * 10**9, "time.Hour": 3600 * 10**9}
GO_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r", "'": "'"}


class GoDataError(ValueError):
    pass


@dataclass(frozen=True)
class Duration:
    nanos: int


@dataclass(frozen=True)
class Ref:
    """Un nombre que la tabla no define (p. ej. `retry.DefaultPolicy().RetryOn`)."""

    name: str


@dataclass(frozen=True)
class Func:
    """Un literal de función: solo se guarda el texto de su cuerpo."""

    body: str


@dataclass(frozen=True)
class Struct:
    type: str
    fields: dict[str, Any]


def tokens(text: str) -> list[tuple[str, str, int]]:
    out, pos = [], 0
    while pos < len(text):
        match = TOKEN.match(text, pos)
        if not match:
            raise GoDataError(f"carácter inesperado en {pos}: {text[pos:pos + 20]!r}")
        kind = match.lastgroup or ""
        if kind != "space":
            out.append((kind, match.group(), pos))
        pos = match.end()
    return out


def unquote(literal: str) -> str:
    if literal.startswith("`"):
        return literal[1:-1]
    body, out, i = literal[1:-1], [], 0
    while i < len(body):
        if body[i] == "\\":
            if body[i + 1] not in GO_ESCAPES:
                raise GoDataError(f"escape de Go no reconocido en {literal}")
            out.append(GO_ESCAPES[body[i + 1]])
            i += 2
        else:
            out.append(body[i])
            i += 1
    return "".join(out)


class Parser:
    def __init__(self, text: str, start: int = 0) -> None:
        self.text = text
        self.toks = [t for t in tokens(text) if t[2] >= start]
        self.i = 0

    def peek(self, offset: int = 0) -> str:
        j = self.i + offset
        return self.toks[j][1] if j < len(self.toks) else ""

    def take(self, expected: str | None = None) -> tuple[str, str, int]:
        tok = self.toks[self.i]
        if expected is not None and tok[1] != expected:
            raise GoDataError(f"esperaba {expected!r} y encontré {tok[1]!r} en {tok[2]}")
        self.i += 1
        return tok

    def type_name(self) -> str:
        parts = []
        while self.peek() in ("*", "[", "]"):
            parts.append(self.take()[1])
        parts.append(self.take()[1])
        while self.peek() == ".":
            self.take()
            parts.append("." + self.take()[1])
        return "".join(parts)

    def expr(self) -> Any:
        value = self.unary()
        while self.peek() == "*":
            self.take()
            right = self.unary()
            value = _multiply(value, right)
        return value

    def unary(self) -> Any:
        kind, text, pos = self.toks[self.i]
        if text == "&":
            self.take()
            return self.unary()
        if text == "-":
            self.take()
            return -self.unary()
        if text == "[":
            type_name = self.type_name()
            return [v for _, v in self.elements()] if self.peek() == "{" else Ref(type_name)
        if kind in ("str", "raw"):
            self.take()
            return unquote(text)
        if kind == "num":
            self.take()
            return float(text) if "." in text else int(text)
        if text == "func":
            return self.func()
        if kind == "ident":
            return self.named()
        raise GoDataError(f"literal no reconocido {text!r} en {pos}")

    def func(self) -> Func:
        self.take("func")
        depth = 0
        while not (self.peek() == "{" and depth == 0):
            depth += {"(": 1, ")": -1}.get(self.take()[1], 0)
        start = self.take("{")[2] + 1
        depth = 1
        while depth:
            text = self.take()[1]
            depth += {"{": 1, "}": -1}.get(text, 0)
        return Func(self.text[start : self.toks[self.i - 1][2]])

    def named(self) -> Any:
        name = self.take()[1]
        while self.peek() == "." and self.toks[self.i + 1][0] == "ident":
            self.take()
            name += "." + self.take()[1]
        if name in ("true", "false"):
            return name == "true"
        if name == "nil":
            return None
        if name in NANOS:
            return Duration(NANOS[name])
        if self.peek() == "{":
            return _struct(name, dict(self.elements()))
        if self.peek() == "(":
            self.take()
            args = []
            while self.peek() != ")":
                args.append(self.expr())
                if self.peek() == ",":
                    self.take()
            self.take(")")
            value = _call(name, args)
            while self.peek() == ".":
                self.take()
                value = Ref(f"{value.name}.{self.take()[1]}" if isinstance(value, Ref) else self.take()[1])
            return value
        return Ref(name)

    def elements(self) -> list[tuple[str | None, Any]]:
        """`{a: 1, b: 2}` o `{1, 2}`: pares (clave o None, valor)."""
        self.take("{")
        items: list[tuple[str | None, Any]] = []
        while self.peek() != "}":
            key = None
            if self.toks[self.i][0] == "ident" and self.peek(1) == ":":
                key = self.take()[1]
                self.take(":")
            if self.peek() == "{":  # elemento sin tipo: struct anónimo de la tabla
                value: Any = dict(self.elements())
            else:
                value = self.expr()
            items.append((key, value))
            if self.peek() == ",":
                self.take()
        self.take("}")
        return items


def _multiply(a: Any, b: Any) -> Any:
    if isinstance(a, Duration) and isinstance(b, int):
        return Duration(a.nanos * b)
    if isinstance(b, Duration) and isinstance(a, int):
        return Duration(b.nanos * a)
    raise GoDataError(f"producto no reconocido: {a!r} * {b!r}")


def _struct(name: str, fields: dict[str | None, Any]) -> Any:
    short = name.split(".")[-1]
    if short == "Duration":
        return Duration(int(fields.get("Seconds", 0)) * 10**9 + int(fields.get("Nanos", 0)))
    if short == "BoolValue":
        return bool(fields.get("Value", False))
    if None in fields:
        raise GoDataError(f"struct {name} con campos sin nombre")
    return Struct(name, {str(k): v for k, v in fields.items()})


def _call(name: str, args: list[Any]) -> Any:
    if name == "durationpb.New" and len(args) == 1 and isinstance(args[0], Duration):
        return args[0]
    if name in ("uint32", "int32", "int64", "uint64") and len(args) == 1:
        return args[0]
    if name == "make" and len(args) == 2 and args[1] == 0:
        return []
    if name == "protoconv.MessageToAny" and len(args) == 1:
        return Struct("Any", {"message": args[0]})
    if not args:
        return Ref(name + "()")
    raise GoDataError(f"llamada no reconocida: {name}({args!r})")


def table(text: str, anchor: str) -> list[dict[str, Any]]:
    """La tabla de casos que sigue a `anchor` (p. ej. `testCases := []struct {`)."""
    at = text.find(anchor)
    if at < 0:
        raise GoDataError(f"no encuentro {anchor!r}")
    parser = Parser(text, at)
    parser.take()  # testCases
    parser.take(":=")
    parser.take("[")
    parser.take("]")
    parser.take("struct")
    depth = 0
    while True:  # salta la declaración del struct
        tok = parser.take()[1]
        depth += {"{": 1, "}": -1}.get(tok, 0)
        if depth == 0 and tok == "}":
            break
    return [value for _, value in parser.elements()]


def var_block(text: str, names: list[str]) -> dict[str, Any]:
    """Valores de `nombre = literal` (en un bloque var) para los nombres pedidos."""
    out = {}
    for name in names:
        match = re.search(rf"^\s*{re.escape(name)}\s*=\s*", text, re.MULTILINE)
        if not match:
            raise GoDataError(f"no encuentro la variable {name}")
        parser = Parser(text, match.end())
        out[name] = parser.expr()
    return out
