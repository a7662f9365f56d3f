"""`lab play` y CourseShell contra un laboratorio FALSO (un kubectl y un curl de mentira en el PATH):
rápidas, sin Envoy. Las mismas roturas contra el laboratorio de verdad están en test_play_lab.py."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from lab.course import Block
from lab.play import BlockResult, CourseShell, ShellClosed, play_course

FAKE_KUBECTL = r"""#!/bin/bash
# kubectl falso: guarda el entorno de cada deployment en $FAKE_LAB/<deploy>.env
case "$1 $2" in
  "set env")
    target=${3#deployment/}; target=${target#deploy/}
    case $target in
      bff|backend1|app2) ;;
      *) echo "Error from server (NotFound): deployments.apps \"$target\" not found" >&2; exit 1 ;;
    esac
    echo "$4" >"$FAKE_LAB/$target.env"
    echo "deployment.apps/$target env updated" ;;
  "get pods")
    echo "NAME                        READY   STATUS    RESTARTS   AGE"
    echo "bff-5d8f7c9b6d-x2k4p        2/2     Running   0          10s" ;;
  *) echo "error: no soportado por el laboratorio falso: $*" >&2; exit 1 ;;
esac
"""

FAKE_CURL = r"""#!/bin/bash
# curl falso: solo responde en localhost:30000/toapp; apunta cada petición en $FAKE_LAB/requests
for arg in "$@"; do
  case $arg in
    localhost:30000/toapp|http://localhost:30000/toapp)
      echo "req" >>"$FAKE_LAB/requests"
      printf '{"request_id": "abc", "backend1_status": 503}'
      exit 0 ;;
  esac
done
exit 7
"""

INDEX = {
    "title": "Curso falso",
    "description": "Para probar lab play",
    "details": {
        "intro": {"text": "intro.md"},
        "steps": [{"title": "Romper backend1", "text": "step1/text.md", "verify": "step1/verify.sh"}],
        "finish": {"text": "finish.md"},
    },
    "backend": {"imageid": "kubernetes-kubeadm-1node"},
}

STEP1 = """# Paso 1

Rompe backend1:

```plain
kubectl set env deployment/backend1 STATUS_CODE_APP=503
```{{exec}}

Y llama a bff:

```plain
curl -s localhost:30000/toapp; echo
```{{exec}}

Esto solo se copia, no se ejecuta:

```yaml
apiVersion: v1
```{{copy}}
"""

VERIFY1 = """#!/bin/bash
grep -qx STATUS_CODE_APP=503 "$FAKE_LAB/backend1.env" 2>/dev/null || { echo "backend1 sin 503"; exit 1; }
[ -s "$FAKE_LAB/requests" ] || { echo "sin peticiones"; exit 1; }
"""


class FakeLab:
    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "curso"
        self.state = tmp_path / "estado"
        self.bin = tmp_path / "bin"
        for d in (self.root / "step1", self.state, self.bin):
            d.mkdir(parents=True)
        (self.root / "index.json").write_text(json.dumps(INDEX, ensure_ascii=False, indent=2), encoding="utf-8")
        (self.root / "intro.md").write_text("# Intro\n\nMira los pods: `kubectl get pods`{{exec}}\n", encoding="utf-8")
        (self.root / "step1" / "text.md").write_text(STEP1, encoding="utf-8")
        (self.root / "step1" / "verify.sh").write_text(VERIFY1, encoding="utf-8")
        (self.root / "finish.md").write_text("# Fin\n\nNada más.\n", encoding="utf-8")
        for name, text in (("kubectl", FAKE_KUBECTL), ("curl", FAKE_CURL)):
            (self.bin / name).write_text(text, encoding="utf-8")
            (self.bin / name).chmod(0o755)
        self.log = self.state / "lab.log"
        self.output: list[str] = []

    def lab_cmd(self, word: str, rc: int = 0) -> list[str]:
        code = "import sys; open(sys.argv[1], 'a').write(sys.argv[2] + '\\n'); print('lab', sys.argv[2]); sys.exit(int(sys.argv[3]))"
        return [sys.executable, "-c", code, str(self.log), word, str(rc)]

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "PATH": f"{self.bin}:{os.environ['PATH']}", "FAKE_LAB": str(self.state)}

    def play(self, up_rc: int = 0) -> int:
        return play_course(
            self.root, out=self.output.append, up=self.lab_cmd("up", up_rc), down=self.lab_cmd("down"),
            env=self.env, block_timeout=20, interrupt_after=1,
        )

    @property
    def text(self) -> str:
        return "".join(self.output)

    @property
    def lab_calls(self) -> list[str]:
        return self.log.read_text().split() if self.log.exists() else []

    def edit(self, rel: str, old: str, new: str) -> int:
        path = self.root / rel
        text = path.read_text(encoding="utf-8")
        assert old in text
        line = text[: text.index(old)].count("\n") + 1
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        return line


@pytest.fixture
def lab(tmp_path: Path) -> FakeLab:
    return FakeLab(tmp_path)


# --------------------------------------------------------------------------- el reproductor


def test_the_fake_course_plays_like_a_terminal(lab: FakeLab) -> None:
    assert lab.play() == 0, lab.text
    out = lab.text
    assert lab.lab_calls == ["up", "down"]
    assert "$ kubectl get pods\nNAME " in out
    assert "$ kubectl set env deployment/backend1 STATUS_CODE_APP=503\ndeployment.apps/backend1 env updated\n" in out
    assert '$ curl -s localhost:30000/toapp; echo\n{"request_id": "abc", "backend1_status": 503}\n' in out
    assert "apiVersion" not in out  # {{copy}} no se ejecuta
    assert out.index("step1/verify.sh antes del paso: falla, como debe") < out.index("$ kubectl set env")
    assert out.index("$ curl") < out.index("step1/verify.sh después del paso: pasa")
    assert "el curso funciona (3 bloques, 2 verificaciones" in out


def test_typo_in_deployment_name_fails_at_its_line(lab: FakeLab) -> None:
    line = lab.edit("step1/text.md", "deployment/backend1", "deployment/backendl")
    assert lab.play() == 1
    assert (
        f"step1/text.md:{line}: falló la orden «kubectl set env deployment/backendl STATUS_CODE_APP=503» (código 1)"
        in lab.text
    )
    assert 'deployments.apps "backendl" not found' in lab.text  # la salida se ve, como en la terminal
    assert "$ curl" not in lab.text  # se para en el primer fallo
    assert lab.lab_calls == ["up", "down"]


def test_wrong_port_in_curl_fails_at_its_line(lab: FakeLab) -> None:
    line = lab.edit("step1/text.md", "localhost:30000", "localhost:30001")
    assert lab.play() == 1
    assert f"step1/text.md:{line}: falló la orden «curl -s localhost:30001/toapp» (código 7)" in lab.text
    assert lab.lab_calls == ["up", "down"]


def test_verify_that_passes_without_the_step_fails(lab: FakeLab) -> None:
    (lab.root / "step1" / "verify.sh").write_text("#!/bin/bash\nkubectl get pods >/dev/null\n", encoding="utf-8")
    assert lab.play() == 1
    assert "step1/verify.sh:1: step1/verify.sh pasa ANTES de ejecutar los bloques de step1/text.md" in lab.text
    assert "$ kubectl set env" not in lab.text
    assert lab.lab_calls == ["up", "down"]


def test_verify_that_still_fails_after_the_step_fails(lab: FakeLab) -> None:
    lab.edit("step1/text.md", "curl -s localhost:30000/toapp; echo", "echo sin curl")
    assert lab.play() == 1
    assert "step1/verify.sh:1: step1/verify.sh falla DESPUÉS de los bloques de step1/text.md (código 1)" in lab.text
    assert "    sin peticiones" in lab.text  # lo que dijo el verify


def test_lab_that_does_not_start_is_still_taken_down(lab: FakeLab) -> None:
    assert lab.play(up_rc=3) == 1
    assert "el laboratorio no arrancó" in lab.text
    assert lab.lab_calls == ["up", "down"]


def test_sigterm_while_playing_takes_the_lab_down(lab: FakeLab) -> None:
    # kill -TERM al proceso de pytest (el padre de la terminal) en mitad del paso 1.
    lab.edit("step1/text.md", "curl -s localhost:30000/toapp; echo", "kill -TERM $PPID; sleep 5")
    assert lab.play() == 130
    assert "lab play: interrumpido" in lab.text
    assert lab.lab_calls == ["up", "down"]


def test_long_running_block_before_exec_interrupt_is_interrupted(lab: FakeLab) -> None:
    lab.edit(
        "step1/text.md", "curl -s localhost:30000/toapp; echo",
        "curl -s localhost:30000/toapp; echo\n```{{exec}}\n\n```plain\nsleep 60; echo nunca\n```{{exec}}\n\n```plain\necho sigo",
    )
    lab.edit("step1/text.md", "echo sigo\n```{{exec}}", "echo sigo\n```{{exec interrupt}}")
    assert lab.play() == 0, lab.text
    assert "$ sleep 60; echo nunca\n^C\n$ echo sigo\nsigo\n" in lab.text


def test_block_that_never_ends_without_interrupt_fails(lab: FakeLab) -> None:
    line = lab.edit("finish.md", "Nada más.", "```plain\nsleep 600\n```{{exec}}") + 1
    code = play_course(
        lab.root, out=lab.output.append, up=lab.lab_cmd("up"), down=lab.lab_cmd("down"),
        env=lab.env, block_timeout=1, interrupt_after=1,
    )
    assert code == 1
    assert f"finish.md:{line}: el bloque no terminó en 1 s (si es una orden que no acaba, el bloque siguiente debe ser {{{{exec interrupt}}}}): sleep 600" in lab.text
    assert lab.lab_calls == ["up", "down"]


def test_broken_markdown_fails_before_starting_a_lab(lab: FakeLab) -> None:
    lab.edit("step1/text.md", "```{{exec}}", "```{{execute}}")
    assert lab.play() == 1
    assert "step1/text.md:7: {{execute}} es sintaxis de Katacoda" in lab.text
    assert lab.lab_calls == []


# --------------------------------------------------------------------------- CourseShell


def test_shell_keeps_state_between_blocks(tmp_path: Path) -> None:
    with CourseShell(cwd=tmp_path) as sh:
        assert sh.run("X=42; mkdir sub; cd sub") == BlockResult(0, "")
        result = sh.run("echo $X $(basename $PWD)")
        assert result == BlockResult(0, "42 sub\n")


def test_shell_reports_first_failing_command_with_markdown_line(tmp_path: Path) -> None:
    block = Block(tmp_path / "t.md", 10, "echo uno\nif false; then :; fi\nfalse && echo no\nls /no/existe\necho dos\nexit_code_ignored=1", "exec")
    with CourseShell(cwd=tmp_path) as sh:
        result = sh.run(block)
    assert (result.exit_code, result.line, result.command) == (2, 13, "ls /no/existe")
    assert result.output.startswith("uno\n") and "dos\n" in result.output  # como en una terminal, sigue


def test_shell_output_without_newline_and_stderr(tmp_path: Path) -> None:
    seen: list[str] = []
    with CourseShell(cwd=tmp_path) as sh:
        result = sh.run("echo a; echo b >&2; printf c", on_output=seen.append)
    assert result == BlockResult(0, "a\nb\nc")
    assert "".join(seen) == "a\nb\nc\n"


def test_shell_stdin_is_not_the_terminal(tmp_path: Path) -> None:
    with CourseShell(cwd=tmp_path) as sh:
        assert sh.run("cat; echo fin", timeout=5) == BlockResult(0, "fin\n")
        assert sh.run("cat <<'EOF'\nhola\nEOF") == BlockResult(0, "hola\n")


def test_shell_interrupt_and_timeout(tmp_path: Path) -> None:
    with CourseShell(cwd=tmp_path) as sh:
        r = sh.run("sleep 30\necho nunca", interrupt_after=0.5)
        assert (r.exit_code, r.interrupted, r.timed_out, r.output) == (0, True, False, "")
        r = sh.run("sleep 30", timeout=0.5)
        assert (r.ok, r.interrupted, r.timed_out) == (False, True, True)
        assert sh.run("echo viva") == BlockResult(0, "viva\n")


def test_shell_exit_closes_the_terminal(tmp_path: Path) -> None:
    with CourseShell(cwd=tmp_path) as sh:
        with pytest.raises(ShellClosed):
            sh.run("exit 3")
        with pytest.raises(ShellClosed):
            sh.run("echo ya no")


def test_shell_interrupt_from_another_thread_and_while_idle(tmp_path: Path) -> None:
    import threading

    with CourseShell(cwd=tmp_path) as sh:
        sh.interrupt()  # sin nada corriendo: la terminal sigue viva
        assert sh.run("echo viva") == BlockResult(0, "viva\n")
        timer = threading.Timer(0.5, sh.interrupt)
        timer.start()
        r = sh.run("echo antes; sleep 30; echo nunca", timeout=20)
        timer.join()
        assert (r.exit_code, r.interrupted, r.timed_out, r.output) == (0, True, False, "antes\n")
        assert sh.run("echo otra") == BlockResult(0, "otra\n")
