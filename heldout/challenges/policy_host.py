"""The participant side of a reinforcement-learning challenge.

    python -m heldout.challenges.policy_host policy.py
    python -m heldout.challenges.policy_host --input TO_POLICY --output FROM_POLICY policy.py

loads ``policy.py``, which defines ``act(observation) -> action`` (and
optionally ``reset()``, called at the start of every episode), then speaks the
JSON-lines protocol of :mod:`heldout.challenges.episodes`: on stdin/stdout, or
over the two named pipes ``--input`` (observations in) and ``--output``
(answers out) when the evaluator runs in another sandbox.

Over stdin/stdout, anything the policy prints goes to stderr: the real stdout
is kept for the protocol alone, so a stray ``print`` cannot corrupt it. Over
pipes, stdout is free and stays the policy's own.

The host stops as soon as the evaluator hangs up (end of its observations, or
no reader left for the answers), even while ``act`` is still running or the
policy has started threads of its own: a failed or finished evaluation never
keeps the policy's sandbox busy until its time limit.

Standard library only (NumPy values returned by ``act`` are turned into plain
numbers). This is the participant's process: nothing here is trusted, and
nothing here needs to be.
"""

from __future__ import annotations

import argparse
import errno
import importlib.util
import json
import os
import queue
import select
import sys
import threading
import time
import traceback
from pathlib import Path
from types import ModuleType

CONNECT_TIMEOUT_S = 60.0


def _plain(value):
    """A JSON-able action: NumPy scalars and 0-d arrays become Python numbers."""
    if hasattr(value, "item") and callable(value.item):
        try:
            return value.item()
        except (ValueError, TypeError):
            pass
    return value


def load_policy(path: str) -> ModuleType:
    where = Path(path).resolve()
    sys.path.insert(0, str(where.parent))  # so the policy can import its own helper modules
    spec = importlib.util.spec_from_file_location("policy", where)
    if spec is None or spec.loader is None:
        raise SystemExit(f"policy_host: cannot load {where}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "act", None)):
        raise SystemExit(f"policy_host: {where.name} must define act(observation)")
    return module


def serve(module, requests, protocol) -> None:
    reset = getattr(module, "reset", None)
    protocol.write(json.dumps({"ready": True}) + "\n")
    protocol.flush()
    for line in requests:
        if not line.strip():
            continue
        message = json.loads(line)
        if message.get("step") == 0 and callable(reset):
            reset()
        action = _plain(module.act(message["observation"]))
        protocol.write(json.dumps({"action": action}) + "\n")
        protocol.flush()


def _exit_now(code: int = 0) -> None:
    """Leave at once, whatever the policy's own threads are doing; keep what it printed."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - the policy may have replaced or closed them
            pass
    os._exit(code)


def _watch(input_fd: int, output_fd: int, lines: queue.Queue) -> None:
    """Hand the evaluator's lines to the main thread; exit the process when the evaluator hangs up.

    Runs on its own thread so that it notices the hang-up while ``act`` is busy.
    ``output_fd`` is polled for errors only: POLLERR on a pipe's write end means
    its reader has gone.
    """
    poller = select.poll()
    poller.register(input_fd, select.POLLIN)
    poller.register(output_fd, 0)
    pending = b""
    while True:
        try:
            events = poller.poll()
        except InterruptedError:
            continue
        for fd, _event in events:
            if fd == output_fd:
                _exit_now()
            try:
                chunk = os.read(input_fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                _exit_now()
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                lines.put(line.decode("utf-8"))


def _requests(lines: queue.Queue):
    while True:
        yield lines.get()


def _open_fifos(input_path: str, output_path: str, timeout_s: float) -> tuple[int, int]:
    """Open our ends of the two named pipes without blocking for good on an evaluator that never comes."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            output_fd = os.open(output_path, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as exc:
            if exc.errno != errno.ENXIO or time.monotonic() >= deadline:  # ENXIO: no reader yet
                raise SystemExit(f"policy_host: cannot open {output_path}: {exc}") from None
        time.sleep(0.02)
    os.set_blocking(output_fd, True)
    # Non-blocking too: until the evaluator opens its end for writing, poll() simply reports nothing.
    input_fd = os.open(input_path, os.O_RDONLY | os.O_NONBLOCK)
    return input_fd, output_fd


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m heldout.challenges.policy_host",
                                     description="Serve a policy's act() over the episode protocol.")
    parser.add_argument("policy", help="the policy file, defining act(observation)")
    parser.add_argument("--input", help="named pipe of observations (default: stdin)")
    parser.add_argument("--output", help="named pipe for the answers (default: stdout)")
    parser.add_argument("--connect-timeout", type=float, default=CONNECT_TIMEOUT_S,
                        help="how long to wait for the evaluator to open its ends of the pipes")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    if (args.input is None) != (args.output is None):
        print("policy_host: give both --input and --output, or neither", file=sys.stderr)
        return 2
    if args.input is not None:
        # Connect before loading the policy, so that nothing the policy does can delay it.
        input_fd, output_fd = _open_fifos(args.input, args.output, args.connect_timeout)
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # its prints reach the logs even if it is killed
    else:
        # Keep the real stdout for the protocol and point fd 1 (print, C extensions) at stderr.
        input_fd, output_fd = 0, os.dup(1)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
    protocol = os.fdopen(output_fd, "w", encoding="utf-8")
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=_watch, args=(input_fd, output_fd, lines), name="policy-host-watch",
                     daemon=True).start()
    # However the policy ends, end the process now: a normal exit would wait for
    # any threads the policy started, and the evaluator would only notice at its timeout.
    try:
        serve(load_policy(args.policy), _requests(lines), protocol)
    except BrokenPipeError:
        _exit_now()  # the evaluator hung up: nothing more to do
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
        _exit_now(exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1))
    except BaseException:  # noqa: BLE001 - the policy's own error, for its logs
        traceback.print_exc()
        _exit_now(1)
    return 0  # not reached: serve() returns only through _exit_now()


if __name__ == "__main__":
    sys.exit(main())
