"""La línea de órdenes de `lab kubectl`: banderas, selectores, duraciones y el «no soportado».

Las banderas siguen a kubectl (pflag): `-l app=bff`, `-lapp=bff`, `--tail=1`, `--tail 1`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lab.ctl.subset import summary
from lab.errors import LabError

NAMESPACE = "default"
VALUE_FLAGS = {
    "-n": "namespace", "--namespace": "namespace", "-l": "selector", "--selector": "selector",
    "-c": "container", "--container": "container", "-o": "output", "--output": "output",
    "--tail": "tail", "--timeout": "timeout", "--for": "for", "-f": "filename", "--filename": "filename",
}
BOOL_FLAGS = {"--prefix": "prefix", "--all": "all", "--timestamps": "timestamps"}
POD_TYPES = ("pods", "pod", "po")
DEPLOY_TYPES = ("deployments", "deployment", "deploy")


class Unsupported(LabError):
    pass


@dataclass
class Args:
    words: list[str]
    flags: dict[str, str] = field(default_factory=dict)
    raw: list[str] = field(default_factory=list)

    def allow(self, *names: str) -> None:
        """Unsupported si trae una bandera que esta orden del laboratorio no entiende."""
        if set(self.flags) - set(names):
            raise Unsupported(unsupported_text(self.raw))


def parse(argv: list[str]) -> Args:
    args = Args(words=[], raw=argv)
    items = list(argv)
    while items:
        item = items.pop(0)
        if item in ("-", "--") or not item.startswith("-"):
            args.words.append(item)
            continue
        name, eq, value = item.partition("=")
        if name in VALUE_FLAGS:
            if not eq:
                if not items:
                    raise LabError(f"error: flag needs an argument: {name}")
                value = items.pop(0)
            args.flags[VALUE_FLAGS[name]] = value
        elif name in BOOL_FLAGS and not eq:
            args.flags[BOOL_FLAGS[name]] = "true"
        elif len(item) > 2 and item[:2] in VALUE_FLAGS and not item.startswith("--"):
            args.flags[VALUE_FLAGS[item[:2]]] = item[2:].lstrip("=")  # -lapp=bff, -cistio-proxy
        else:
            raise Unsupported(unsupported_text(argv))
    return args


def unsupported_text(argv: list[str]) -> str:
    return (
        f"error: «kubectl {' '.join(argv)}» no soportado por el laboratorio (not supported by the lab). "
        f"El laboratorio entiende: {summary()}."
    )


def usage_error(message: str, verb: str) -> LabError:
    """Como cmdutil.UsageErrorf de kubectl (pkg/cmd/util/helpers.go)."""
    return LabError(f"error: {message}\nSee 'kubectl {verb} -h' for help and examples")


def matches(labels: dict[str, str], selector: str | None) -> bool:
    """Selector de igualdad de kubectl: `app=bff`, `app==bff`, `app!=bff`, separados por comas."""
    if not selector:
        return True
    for term in selector.split(","):
        match = re.fullmatch(r"\s*([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)\s*", term)
        if not match:
            raise Unsupported(f"error: selector «{selector}» no soportado por el laboratorio (not supported by the lab)")
        key, op, value = match.groups()
        if (labels.get(key) == value) != (op != "!="):
            return False
    return True


def deployment_ref(args: Args, start: int) -> tuple[str, int]:
    """deployment/X, deploy/X o «deployment X» a partir de words[start]; (nombre, siguiente índice)."""
    words = args.words
    if start >= len(words):
        raise LabError("error: you must specify a deployment (deployment/NAME)")
    kind, slash, name = words[start].partition("/")
    if slash and kind in DEPLOY_TYPES and name:
        return name, start + 1
    if not slash and kind in DEPLOY_TYPES and start + 1 < len(words):
        return words[start + 1], start + 2
    raise Unsupported(unsupported_text(args.raw))


def seconds(value: str | None, default: float | None) -> float | None:
    """Una duración de Go (`30s`, `2m`, `1h30m`, `0`) en segundos; `default` si no se dio."""
    if value is None:
        return default
    if value == "0":
        return 0.0
    match = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", value)
    if not value or not match:
        raise LabError(f'error: invalid argument "{value}" for "--timeout" flag: time: missing unit in duration')
    h, m, s = match.groups()
    return int(h or 0) * 3600 + int(m or 0) * 60 + float(s or 0)


def jsonpath_template(args: Args) -> str | None:
    """La plantilla de `-o jsonpath=...` (sin comillas), None sin -o; Unsupported con otro -o."""
    output = args.flags.get("output")
    if output is None:
        return None
    if not output.startswith("jsonpath="):
        raise Unsupported(unsupported_text(args.raw))
    template = output.split("=", 1)[1]
    return template[1:-1] if len(template) > 1 and template[0] == template[-1] == "'" else template
