"""`kubectl logs --timestamps` en el laboratorio y el árbol exacto de traza que permite.

Primero el recolector de salida (lab/cluster/capture.py) y su lectura (lab/cluster/logs.py) sin laboratorio;
después, con Envoy real: la forma de kubectl (`[pod/P/C] 2026-11-28T01:02:03.123456789Z línea`),
líneas idénticas byte a byte a las de `kubectl logs` sin marcas, y que traza, con esas marcas,
pone bajo cada intento de backend1 exactamente las llamadas a app2 que hizo. La verdad con la que
se compara no sale de las marcas: el registro de acceso de entrada del sidecar de cada app2 dice
qué pod de backend1 abrió cada conexión (su IP de origen).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from lab.cluster.capture import RECORD, OutputCollector, format_stamp, times_path
from lab.cluster.logs import read_entries, read_lines
from lab.ctl.shell import course_environment
from lab.testing.driver import LabDriver

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z"
STAMPED = re.compile(rf"^({STAMP}) (.*)$", re.S)


def stamp_ns(stamp: str) -> int:
    head, fraction = stamp.rstrip("Z").split(".")
    import calendar  # noqa: PLC0415

    return calendar.timegm(time.strptime(head, "%Y-%m-%dT%H:%M:%S")) * 1_000_000_000 + int(fraction)


# --------------------------------------------------------------------------- sin laboratorio


def test_format_stamp_is_kubelets_fixed_rfc3339nano_in_utc() -> None:
    assert format_stamp(1_795_827_723_000_000_007) == "2026-11-28T01:02:03.000000007Z"
    assert len(format_stamp(0)) + 1 == RECORD


def test_sync_puts_what_was_written_in_the_log_in_arrival_order(tmp_path: Path) -> None:
    """Tras sync(), cada línea ya escrita en una FIFO está en su .log (sin esperar al azar), y las
    marcas siguen el orden de escritura aunque se alternen tres contenedores."""
    collector = OutputCollector()
    logs = [tmp_path / f"c{i}.log" for i in range(3)]
    writers = [os.open(collector.pipe(log), os.O_WRONLY) for log in logs]
    try:
        for k in range(300):
            os.write(writers[k % 3], f"línea {k}\n".encode())
            assert collector.sync(timeout=5)
            assert logs[k % 3].read_bytes().endswith(f"línea {k}\n".encode()), k
    finally:
        for fd in writers:
            os.close(fd)
        collector.close(timeout=10)
    stamped = sorted(
        (stamp_ns(stamp), int(line.split()[1]))
        for log in logs
        for stamp, line in zip(times_path(log).read_text().split(), log.read_text().splitlines(), strict=False)
    )
    assert [k for _, k in stamped] == list(range(300))


WRITER = r"""
import os, sys, time
out = sys.stdout.buffer
out.write(b"uno\n"); out.flush()
out.write(b"\n"); out.flush()                      # una linea vacia
out.write("ñandú ".encode() + b"\xff\r\n"); out.flush()      # y un byte que no es UTF-8
out.write(b"par"); out.flush(); time.sleep(0.05); out.write(b"tida\ndos\n"); out.flush()
with open("/dev/stdout", "ab") as again:           # como Envoy: reabre /dev/stdout
    again.write(b"reabierto\n")
os.write(2, b"por stderr\n")
out.write(b"sin salto final"); out.flush()
"""
EXPECTED = "uno\n\nñandú ".encode() + b"\xff\r\npartida\ndos\nreabierto\npor stderr\nsin salto final"


def run_writer(fifo: Path) -> None:
    with open(fifo, "ab") as out:  # lo mismo que hace el Spawner con el archivo de registro
        proc = subprocess.Popen([sys.executable, "-c", WRITER], stdout=out, stderr=subprocess.STDOUT)
    assert proc.wait(timeout=30) == 0


def test_collector_keeps_the_bytes_and_stamps_every_line_on_arrival(tmp_path: Path) -> None:
    collector = OutputCollector()
    log = tmp_path / "app.log"
    fifo = collector.pipe(log)
    assert fifo.is_fifo() and fifo != log
    before = time.time_ns()
    run_writer(fifo)
    assert collector.wait(log, timeout=10), "el lector no vio el final de la salida"
    after = time.time_ns()
    assert log.read_bytes() == EXPECTED  # idéntico byte a byte
    assert not fifo.exists()
    entries = read_entries(log, -1, timestamps=True)
    lines = [line for _, line in entries]
    assert lines == EXPECTED.decode("utf-8", errors="replace").split("\n")
    assert read_lines(log, -1) == lines
    stamps = [stamp_ns(stamp) for stamp, _ in entries]
    assert times_path(log).stat().st_size == RECORD * len(lines)  # una marca por línea, la última incluida
    assert stamps == sorted(stamps)
    assert before <= stamps[0] and stamps[-1] <= after
    collector.close()


def test_a_line_is_stamped_when_it_is_complete_not_when_it_starts(tmp_path: Path) -> None:
    collector = OutputCollector()
    log = tmp_path / "app.log"
    fd = os.open(collector.pipe(log), os.O_WRONLY | os.O_APPEND)  # lo mismo que hace el cigoto
    os.write(fd, b"primera\npar")
    time.sleep(0.05)
    completed = time.time_ns()
    os.write(fd, b"tida\n")
    os.close(fd)
    assert collector.wait(log, timeout=10)
    (first_stamp, first), (second_stamp, second) = read_entries(log, -1, timestamps=True)
    assert (first, second) == ("primera", "partida")
    assert stamp_ns(first_stamp) < completed <= stamp_ns(second_stamp)
    collector.close()


def test_tail_reads_the_stamps_of_the_same_lines(tmp_path: Path) -> None:
    log = tmp_path / "c.log"
    log.write_bytes(b"a\nb\nc\n")
    stamps = [format_stamp(n * 1_000_000_000) for n in (1, 2, 3)]
    times_path(log).write_text("".join(s + "\n" for s in stamps))
    assert read_entries(log, 2, timestamps=True) == [(stamps[1], "b"), (stamps[2], "c")]
    assert read_entries(log, 0, timestamps=True) == []
    assert read_entries(log, 5) == [(None, "a"), (None, "b"), (None, "c")]
    log.write_bytes(b"a\nb\nc\nd a medias")  # una línea que aún no tiene marca: la hora del archivo
    last = read_entries(log, 1, timestamps=True)
    assert last == [(format_stamp(log.stat().st_mtime_ns), "d a medias")]
    assert read_entries(tmp_path / "no-existe.log", -1, timestamps=True) == []


def test_a_fifo_nobody_opened_is_closed_and_removed(tmp_path: Path) -> None:
    collector = OutputCollector()
    log = tmp_path / "nunca.log"
    fifo = collector.pipe(log)
    assert not collector.wait(log, timeout=0.2)  # sin escritor, el lector espera
    collector.close(timeout=10)
    assert collector.wait(log, timeout=0)
    assert not fifo.exists() and log.read_bytes() == b""


# --------------------------------------------------------------------------- con el laboratorio

INBOUND = re.compile(r'"(?P<rid>[^"]*)" "[^"]*" "[^"]*" inbound\|8080\|\| \S+ \S+ (?P<remote>[\d.]+):\d+ ')
BACKEND_ROW = re.compile(r"^   [├└]─ intento (\d+): (backend1-\S+) respondió (\d+)$")
APP2_ROW = re.compile(r"^   [│ ]  [├└]─ intento (\d+): (app2-\S+) respondió (\d+)$")


def traza(lab: LabDriver, request_id: str, path_first: Path | None = None) -> subprocess.CompletedProcess:
    env = course_environment(lab.root)
    if path_first is not None:
        env["PATH"] = f"{path_first}{os.pathsep}{env['PATH']}"
    return subprocess.run(["traza", request_id], capture_output=True, text=True, env=env, timeout=120, check=False)


@pytest.mark.lab
def test_timestamps_have_kubectls_shape_for_apps_and_sidecars(lab: LabDriver) -> None:
    for _ in range(3):
        status, body = lab.curl()
        assert status == 200, body
    checked: set[str] = set()
    state = lab.state()
    started_ns = int(state.started * 1e9)  # el supervisor anota su hora antes de arrancar nada
    for pod in state.pods:
        for container in (pod.app.name, "istio-proxy"):
            args = ("logs", pod.name, "-c", container, "--prefix")
            plain = lab.kubectl(*args).stdout.splitlines()
            stamped = lab.kubectl(*args, "--timestamps").stdout.splitlines()
            now = time.time_ns()
            if not plain:
                continue  # un pod de backend1 o app2 al que aún no le tocó ninguna petición
            checked.add(pod.deployment if container != "istio-proxy" else container)
            assert len(stamped) >= len(plain)  # (pudo llegar una línea entre las dos órdenes)
            prefix = f"[pod/{pod.name}/{container}] "
            stamps = []
            for bare, line in zip(plain, stamped, strict=False):
                assert line.startswith(prefix) and bare.startswith(prefix), line
                match = STAMPED.match(line[len(prefix):])
                assert match, line
                assert match.group(2) == bare[len(prefix):]  # la línea, idéntica byte a byte
                stamps.append(stamp_ns(match.group(1)))
            assert stamps == sorted(stamps)
            assert started_ns <= stamps[0] and stamps[-1] <= now
    assert checked == {"bff", "backend1", "app2", "istio-proxy"}
    # -l con --tail: N líneas por pod, cada una con su marca (y sin --prefix, la marca primero).
    out = lab.kubectl("logs", "-l", "app=bff", "--tail=2", "--timestamps", "-c", "istio-proxy").stdout
    lines = out.splitlines()
    assert len(lines) == 2 and all(STAMPED.match(line) for line in lines), out
    assert [STAMPED.match(line).group(2) for line in lines] == lab.kubectl(  # type: ignore[union-attr]
        "logs", "-l", "app=bff", "--tail=2", "-c", "istio-proxy"
    ).stdout.splitlines()


def ground_truth(lab: LabDriver, request_id: str) -> Counter:
    """(pod de backend1 que llamó, pod de app2, intento) de cada llamada a app2, según las IP de
    origen del registro de acceso de entrada de los sidecars de app2 (y el orden de sus líneas)."""
    state = lab.state()
    by_ip = {pod.ip: pod.name for pod in state.pods}
    app2_pods = [pod for pod in state.pods if pod.deployment == "app2" and not pod.terminating]
    deadline = time.monotonic() + 10
    while True:  # el registro de acceso se vuelca cada 50 ms
        truth: Counter = Counter()
        complete = True
        for pod in app2_pods:
            attempts = [hit.attempt for hit in lab.hits(request_id) if hit.pod == pod.name]
            callers = [
                by_ip.get(match["remote"], match["remote"])
                for line in read_lines(Path(next(c.log for c in pod.containers if c.name == "istio-proxy")), -1)
                if (match := INBOUND.search(line)) and match["rid"] == request_id
            ]
            complete &= len(callers) == len(attempts)
            truth.update(zip(callers, [pod.name] * len(attempts), attempts, strict=False))
        if complete or time.monotonic() > deadline:
            assert complete, "el registro de acceso de app2 no tiene una línea por llamada"
            return truth
        time.sleep(0.05)


@pytest.mark.lab
def test_traza_step2_tree_is_exact_with_timestamps(lab: LabDriver) -> None:
    lab.set_env("app2", STATUS_CODE_APP="503")  # el paso 2: app2 falla, backend1 lo pasa
    for _ in range(5):
        status, body = lab.curl()
        request_id = body["request_id"]
        assert (status, lab.counts(request_id)) == (200, (1, 3, 9)), body
        out = traza(lab, request_id)
        assert out.returncode == 0, out.stderr
        text = out.stdout
        assert "aproximado" not in text and "Nota" not in text, text
        assert "Total: bff 1 · backend1 3 · app2 9" in text, text
        tree: list[tuple[str, str, list[tuple[str, str]]]] = []  # (intento, pod de backend1, llamadas)
        for row in text.splitlines():
            if match := BACKEND_ROW.match(row):
                tree.append((match[1], match[2], []))
            elif match := APP2_ROW.match(row):
                tree[-1][2].append((match[2], match[1]))
        assert [attempt for attempt, _, _ in tree] == ["1", "2", "3"], text
        assert [[attempt for _, attempt in calls] for _, _, calls in tree] == [["1", "2", "3"]] * 3, text
        got = Counter((backend, app2, attempt) for _, backend, calls in tree for app2, attempt in calls)
        assert got == ground_truth(lab, request_id), text


@pytest.mark.lab
def test_traza_falls_back_when_kubectl_has_no_timestamps(lab: LabDriver, tmp_path: Path) -> None:
    """Un kubectl sin --timestamps (el guion falso lo rechaza y pasa lo demás al del laboratorio)."""
    shims = course_environment(lab.root)["PATH"].split(os.pathsep)[0]
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "kubectl").write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do [ "$a" = --timestamps ] && { echo "error: unknown flag: --timestamps" >&2; exit 1; }; done\n'
        f'exec {shims}/kubectl "$@"\n'
    )
    (fake / "kubectl").chmod(0o755)
    if lab.current_env("app2").get("STATUS_CODE_APP") != "503":
        lab.set_env("app2", STATUS_CODE_APP="503")
    status, body = lab.curl()
    assert status == 200
    out = traza(lab, body["request_id"], path_first=fake)
    assert out.returncode == 0, out.stderr
    assert "Total: bff 1 · backend1 3 · app2 9" in out.stdout
    assert "aproximado" in out.stdout
