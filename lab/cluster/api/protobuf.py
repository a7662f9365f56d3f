"""Request bodies in Kubernetes' protobuf encoding, decoded into the JSON form the registry stores.

client-go's generated clients send built-in kinds as `application/vnd.kubernetes.protobuf` with no
fallback to JSON (`kubectl create deployment|configmap`, `kubectl expose`…). The encoding is
k8s.io/apimachinery `pkg/runtime/serializer/protobuf/protobuf.go`: the magic `k8s\\0`, then a
runtime.Unknown whose `raw` is the object's message (`generated.proto` of kubernetes/api). Field
numbers and types come from k8s-proto.json (protoregen.py); the wire format is protobuf's
(varints, length-delimited fields, fixed 32/64). As encoding/json with `omitempty` would, empty
scalars are left out (gogo writes every non-pointer field), so an explicit `0` in a pointer field
(`replicas: 0`) reads as absent. Well-known k8s types map to their JSON form: Time/MicroTime →
RFC 3339, IntOrString → int or string, Quantity → string, FieldsV1 → JSON, bytes → base64.
"""

from __future__ import annotations

import base64
import json
import struct
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from lab.cluster.api.errors import bad_request
from lab.cluster.api.store import RFC3339

Obj = dict[str, Any]
DATA = Path(__file__).resolve().parent / "k8s-proto.json"
MAGIC = b"k8s\x00"
CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
META = "k8s.io.apimachinery.pkg.apis.meta.v1."
TIMES = {META + "Time", META + "MicroTime"}
INT_OR_STRING = "k8s.io.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "k8s.io.apimachinery.pkg.api.resource.Quantity"
FIELDS_V1 = META + "FieldsV1"


@cache
def messages() -> dict[str, dict[str, list[str]]]:
    return json.loads(DATA.read_text(encoding="utf-8"))["messages"]


def _fields(data: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value) in order: ints for varints and fixed, bytes for the rest."""
    out, pos = [], 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(data, pos)
            value, pos = data[pos:pos + size], pos + size
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise bad_request(f"protobuf: wire type {wire} no soportado en el campo {number}")
        out.append((number, wire, value))
    return out


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data):
            raise bad_request("protobuf: varint truncado")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _scalar(kind: str, wire: int, value: Any) -> Any:
    if kind == "string":
        return value.decode("utf-8")
    if kind == "bytes":
        return base64.b64encode(value).decode()
    if kind == "bool":
        return bool(value)
    if kind in ("double", "fixed64", "sfixed64") and wire == 1:
        return struct.unpack("<d" if kind == "double" else "<q", value)[0]
    if kind == "float" and wire == 5:
        return struct.unpack("<f", value)[0]
    return value - (1 << 64) if value >= 1 << 63 else value  # int32/int64: negatives are 10-byte varints


def _empty(value: Any) -> bool:
    return value is None or value in ("", 0, False) and not isinstance(value, float) or value in ([], {})


def decode_message(name: str, data: bytes) -> Any:
    fields = _fields(data)
    if name in TIMES:
        parts = {n: v for n, _, v in fields}
        seconds = _scalar("int64", 0, parts.get(1, 0))
        if not seconds:
            return None
        when = datetime.fromtimestamp(seconds, UTC)
        if name.endswith("MicroTime"):
            return when.replace(microsecond=parts.get(2, 0) // 1000).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return when.strftime(RFC3339)
    if name == INT_OR_STRING:
        parts = {n: v for n, _, v in fields}
        return parts.get(3, b"").decode() if parts.get(1) == 1 else _scalar("int32", 0, parts.get(2, 0))
    if name == QUANTITY:
        return next((v.decode() for n, _, v in fields if n == 1), "")
    if name == FIELDS_V1:
        return next((json.loads(v) for n, _, v in fields if n == 1), {})
    schema = messages().get(name)
    if schema is None:
        raise bad_request(f"protobuf: el laboratorio no sabe decodificar {name}")
    out: Obj = {}
    for number, wire, value in fields:
        if str(number) not in schema:
            continue  # a field newer than the data: ignored, as an old apiserver would
        field, kind, label, _key = schema[str(number)]
        if label == "map":
            entry = {n: v for n, _, v in _fields(value)}
            key = entry.get(1, b"").decode()
            item = entry.get(2, b"" if kind in ("string", "bytes") or kind in messages() else 0)
            out.setdefault(field, {})[key] = decode_message(kind, item) if kind in messages() else _scalar(kind, 2, item)
            continue
        decoded = decode_message(kind, value) if kind not in _SCALARS else _scalar(kind, wire, value)
        if label == "repeated":
            out.setdefault(field, []).append(decoded)
        elif not _empty(decoded):
            out[field] = decoded
    return out


_SCALARS = {"string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "double", "float", "fixed64", "sfixed64"}


def decode(body: bytes) -> Obj:
    """An object from a `application/vnd.kubernetes.protobuf` body (BadRequest if it is not one)."""
    if not body.startswith(MAGIC):
        raise bad_request("protobuf: falta el prefijo k8s\\x00 del sobre runtime.Unknown")
    envelope = {n: v for n, _, v in _fields(body[len(MAGIC):])}
    type_meta = {n: v.decode() for n, _, v in _fields(envelope.get(1, b""))}
    api_version, kind = type_meta.get(1, ""), type_meta.get(2, "")
    group, _, version = api_version.rpartition("/")
    name = f"k8s.io.api.{group.split('.')[0] or 'core'}.{version}.{kind}"
    obj = decode_message(name, envelope.get(2, b""))
    return {"apiVersion": api_version, "kind": kind, **obj}
