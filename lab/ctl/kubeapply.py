"""`kubectl apply -f` y `kubectl delete -f` (FICHERO o - para la entrada estándar).

kubectl decodifica y comprueba cada objeto antes de ir al servidor (`_read_docs`); el tipo se busca
en el «discovery» del servidor (lab/cluster/discovery.py); el servidor (el supervisor) valida la
VirtualService como el webhook de Istio, en un solo sitio (lab/cluster/meshpolicy.py), y su error
llega tal cual. Mensajes de kubernetes/kubectl v0.36.3: `pkg/cmd/apply/apply.go` (created,
configured, unchanged) y `pkg/cmd/delete/delete.go` (`"X" deleted from default namespace`, desde
kubectl 1.34, kubernetes#126619).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from lab.cluster.client import LabClient, api_resource, emulated_kinds
from lab.ctl.kubeargs import Args, Unsupported, unsupported_text
from lab.errors import LabError, StatusError

GO_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "bool"}


def cmd_apply(client: LabClient, args: Args, namespace: str) -> int:
    args.allow("filename")
    origin, docs = _read_docs(args, "apply")
    try:
        applied = client.apply(docs, origin)
    except StatusError as exc:  # lo que el servidor de API rechaza (CRD, webhook de Istio)
        message = server_error(exc.status, "creating", "STDIN" if origin == "-" else origin)
        sys.stderr.write(message if message.endswith("\n") else message + "\n")
        return 1
    for item in applied:
        print(f"{item.kind}/{item.name} {item.action}")
    return 0


def server_error(status: dict[str, Any], verb: str, source: str) -> str:
    """Un metav1.Status de error como lo escribe kubectl (kubernetes/kubectl v0.34 pkg/cmd/util/helpers.go).

    Invalid con detalles → «The <Kind> "<name>" is invalid: <campo>: <mensaje>» (checkErr, una línea
    por causa si hay varias); lo demás pasa por AddSourceToErr («error when creating "<fichero>": …»)
    y StandardErrorMessage: «Error from server (<reason>): …», o «Error from server: …» sin reason
    (así llega la negativa de un webhook de admisión).
    """
    details = status.get("details") or {}
    if status.get("reason") == "Invalid" and (details.get("kind") or details.get("name")):
        head = f'The {details.get("kind", "")} "{details.get("name", "")}" is invalid: '
        causes = [f"{c['field']}: {c['message']}" for c in details.get("causes") or []]
        if len(causes) == 1:
            return head + causes[0] + "\n"
        return head + "\n" + "".join(f"* {c}\n" for c in causes)
    message = f'error when {verb} "{source}": {status["message"]}'
    reason = status.get("reason")
    return f"Error from server ({reason}): {message}" if reason else f"Error from server: {message}"


def cmd_delete(client: LabClient, args: Args, namespace: str) -> int:
    args.allow("filename")
    origin, docs = _read_docs(args, "delete")
    result = client.delete("VirtualService", [d["metadata"]["name"] for d in docs])
    for name in result.deleted:
        print(f'{result.kind} "{name}" deleted from {result.namespace} namespace')
    resource = api_resource(docs[0]["apiVersion"], docs[0]["kind"])
    assert resource is not None  # _read_docs ya lo comprobó
    for name in result.missing:
        print(
            f'Error from server (NotFound): error when deleting "{"STDIN" if origin == "-" else origin}": '
            f'{resource.plural}.{resource.group} "{name}" not found',
            file=sys.stderr,
        )
    return 1 if result.missing else 0


def _read_docs(args: Args, verb: str) -> tuple[str, list[dict[str, Any]]]:
    """Los objetos de `-f FICHERO|-`, comprobados como lo haría kubectl antes de ir al servidor."""
    origin = args.flags.get("filename")
    if not origin or len(args.words) != 1:
        raise Unsupported(unsupported_text(args.raw))
    shown = "STDIN" if origin == "-" else origin
    try:
        raw = sys.stdin.buffer.read() if origin == "-" else Path(origin).read_bytes()
    except OSError:
        raise LabError(f'error: the path "{origin}" does not exist') from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LabError(f"error: error parsing {shown}: error converting YAML to JSON: yaml: invalid leading UTF-8 octet") from None
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark, problem = getattr(exc, "problem_mark", None), getattr(exc, "problem", None) or str(exc)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise LabError(f"error: error parsing {shown}: error converting YAML to JSON: yaml: {where}{problem}") from None
    if not docs:
        raise LabError(f"error: no objects passed to {verb}")
    for doc in docs:
        _check_object(doc, shown)
    return origin, docs


def _check_object(doc: Any, shown: str) -> None:
    if not isinstance(doc, dict):
        raise LabError(
            f'error: unable to decode "{shown}": json: cannot unmarshal {GO_TYPES.get(type(doc), "value")} '
            "into Go value of type map[string]interface {}"
        )
    kind, version = doc.get("kind"), doc.get("apiVersion")
    if not kind or not isinstance(kind, str):
        raise LabError(f"error: unable to decode \"{shown}\": Object 'Kind' is missing in '{_flow(doc)}'")
    if not version or not isinstance(version, str):
        raise LabError(f"error: unable to decode \"{shown}\": Object 'apiVersion' is missing in '{_flow(doc)}'")
    metadata = doc.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    if not name or not isinstance(name, str):
        raise LabError(f'error: error validating "{shown}": resource name may not be empty (metadata.name)')
    resource = api_resource(version, kind)
    if resource is None:
        raise LabError(
            f'error: resource mapping not found for name: "{name}" namespace: "" from "{shown}": '
            f'no matches for kind "{kind}" in version "{version}"\nensure CRDs are installed first'
        )
    if not resource.emulated:
        raise Unsupported(
            f"error: {kind} ({version}) de {shown}: no soportado por el laboratorio "
            f"(not supported by the lab); solo {', '.join(emulated_kinds())}."
        )


def _flow(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, default_flow_style=True, width=10**6).strip()
