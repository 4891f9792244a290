"""HELDOUT_SANDBOX_RUNTIME and HELDOUT_SCORER_RUNTIME: which Docker runtime runs whose code (no daemon here; the
real runsc runs in test_sandbox_docker.py and test_code_jobs.py)."""

from __future__ import annotations

import pytest

from heldout.config import Settings
from heldout.runner.sandbox import Limits, RunRequest, SandboxUnavailable
from heldout.runner.sandbox.base import SCORER
from heldout.runner.sandbox.docker_backend import DockerSandbox
from heldout.runner.sandbox.runtimes import RuntimeSplit, describe_runtimes, sandbox_for
from tests.fakes import ScriptedSandbox


def request(role: str | None = None) -> RunRequest:
    extra = {"role": role} if role else {}
    return RunRequest(argv=["true"], mounts=[], limits=Limits(), **extra)


def test_the_scorers_requests_go_to_the_scorers_sandbox_and_every_other_to_the_participants():
    participant, scorer = ScriptedSandbox(name="docker"), ScriptedSandbox(name="docker")
    split = RuntimeSplit(participant=participant, scorer=scorer)
    split.run(request(SCORER))
    split.run(request("participant"))
    split.run(request())  # a request that does not say whose code it runs gets the stricter runtime
    assert len(scorer.requests) == 1 and scorer.requests[0].role == SCORER
    assert [r.role for r in participant.requests] == ["participant", "participant"]


class FakeApi:
    def __init__(self, runtimes):
        self.runtimes = runtimes

    def ping(self):
        return True

    def inspect_image(self, image):
        return {"Id": image}

    def info(self):
        return {"Runtimes": {name: {"path": name} for name in self.runtimes}}


class FakeClient:
    def __init__(self, runtimes=("runc",)):
        self.api = FakeApi(runtimes)


@pytest.fixture
def daemon(monkeypatch):
    """Every DockerSandbox made talks to a fake daemon with these runtimes registered."""
    registered = ["runc", "io.containerd.runc.v2"]
    monkeypatch.setattr(DockerSandbox, "client", property(lambda self: FakeClient(registered)))
    return registered


def settings(tmp_path, **env) -> Settings:
    return Settings.from_env({"HELDOUT_DATA_DIR": str(tmp_path), **env})


def test_by_default_one_sandbox_runs_everything_under_the_daemons_default_runtime(tmp_path, daemon):
    sandbox = sandbox_for(settings(tmp_path, HELDOUT_SANDBOX="docker"))
    assert isinstance(sandbox, DockerSandbox) and sandbox.runtime is None
    assert describe_runtimes(sandbox) == "docker sandbox"


def test_gvisor_for_participant_code_keeps_the_scorer_on_runc(tmp_path, daemon):
    daemon.append("runsc")
    sandbox = sandbox_for(settings(tmp_path, HELDOUT_SANDBOX_RUNTIME="runsc"))
    assert isinstance(sandbox, RuntimeSplit)
    assert sandbox.participant.runtime == "runsc" and sandbox.scorer.runtime is None
    assert describe_runtimes(sandbox) == "docker sandbox (participant code under runsc, the scorer under runc)"


def test_one_runtime_for_both_is_one_sandbox(tmp_path, daemon):
    daemon.append("runsc")
    sandbox = sandbox_for(settings(tmp_path, HELDOUT_SANDBOX_RUNTIME="runsc", HELDOUT_SCORER_RUNTIME="runsc"))
    assert isinstance(sandbox, DockerSandbox) and sandbox.runtime == "runsc"
    assert describe_runtimes(sandbox) == "docker sandbox (under runsc)"


@pytest.mark.parametrize("variable", ["HELDOUT_SANDBOX_RUNTIME", "HELDOUT_SCORER_RUNTIME"])
def test_a_runtime_the_daemon_lacks_names_the_variable_and_how_to_register_it(tmp_path, daemon, variable):
    with pytest.raises(SandboxUnavailable) as info:
        sandbox_for(settings(tmp_path, **{variable: "runsc"}))
    message = str(info.value)
    assert message.startswith(f"{variable}=runsc: the Docker daemon has no runtime 'runsc' "
                              "(it has io.containerd.runc.v2, runc)")
    assert "apt-get install runsc" in message and "/etc/docker/daemon.json" in message and "\n" not in message


def test_a_named_runtime_never_falls_back_to_bubblewrap(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(SandboxUnavailable, match="^HELDOUT_SANDBOX_RUNTIME=runsc: Docker daemon not reachable"):
        sandbox_for(settings(tmp_path, HELDOUT_SANDBOX_RUNTIME="runsc"))


def test_the_warm_scorer_runs_under_the_scorers_runtime_not_the_participants(tmp_path, daemon):
    from heldout.runner.context import RunnerContext

    daemon.append("runsc")
    settings = Settings.from_env({"HELDOUT_DATA_DIR": str(tmp_path), "HELDOUT_SANDBOX": "docker",
                                  "HELDOUT_SANDBOX_RUNTIME": "runsc", "HELDOUT_SANDBOX_POOL_SIZE": "0"})
    context = RunnerContext.from_settings(settings)
    assert isinstance(context.sandbox, RuntimeSplit)
    assert context.scorer is not None and context.scorer.backend is context.sandbox.scorer
    assert context.scorer.backend.runtime is None  # runc, the scorer's runtime
