"""Several "hosts" on one machine, made of Linux network namespaces, for multi-host tests and benches.

No pytest here: ``bench/`` imports it too. Needs root, ``ip`` (iproute2), ``unshare`` and ``runuser``
(util-linux), PostgreSQL's server binaries (``initdb``, ``postgres``), ``redis-server`` and, for
:func:`start_s3`, ``moto[server]``; :func:`missing_requirements` says what is not there.

The layout, with the default prefix ``hdn`` and subnet 10.77.0.0/24::

    root namespace (the test, the bench's clients, wrk)
        hdn-op 10.77.0.6  ──veth──  op0  10.77.0.5  ─┐
    host B (netns hdn-b)                              │  host A (netns hdn-a): 10.77.0.1 on its
        eth0   10.77.0.10 ──veth──  to-b 10.77.0.9  ─┤  loopback, the one address PostgreSQL,
    host C (netns hdn-c)                              │  Redis and the web app listen on
        eth0   10.77.0.14 ──veth──  to-c 10.77.0.13 ─┘

Every link is a point-to-point veth pair into host A (a bridge would put the hosts' traffic through the
root namespace's iptables FORWARD chain, which Docker sets to DROP). No namespace forwards packets and
none has a default route (only a route to 10.77.0.1 over its link), so a worker host reaches host A's
address and nothing else: not the root namespace's services, not the other worker hosts, not the
machine's own PostgreSQL at 127.0.0.1:5432 (in a namespace, 127.0.0.1 is its own loopback). Each process
also gets its own UTS namespace whose hostname is the host's name, so ``socket.gethostname()`` tells the
hosts apart, and each host has its own directory (``Host.root``) to serve as its disk: its data dir and
TMPDIR live there.

The Docker socket is a file, so a worker in a namespace still reaches the machine's dockerd; its
sandboxes have no network anyway. They are found by their bind mounts, which come from the host's
directory (:func:`sandboxes_under`).

Everything is named with a fixed prefix, so a run that crashed is cleaned up by the next one
(:func:`cleanup_leftovers`, called by ``Network.up``). Use one prefix and subnet per kind of user
(the test and the bench have their own) so they can run side by side.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.s3_server import moto_argv, moto_env

REPO = Path(__file__).resolve().parents[2]
HELDOUT = [sys.executable, "-m", "heldout.cli"]
RUN_DIR_GLOB = "{prefix}-run-*"


class NetnsError(RuntimeError):
    """Setting up or using the namespace hosts failed; the message says which command."""


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done


def postgres_bindir() -> Path | None:
    """The newest installed PostgreSQL's server binaries (Debian's layout), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: [int(x) if x.isdigit() else 0 for x in Path(p).parts[-3].split(".")])
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def missing_requirements() -> str | None:
    """None when namespace hosts with PostgreSQL and Redis can be built here, else what is missing."""
    if os.geteuid() != 0:
        return "namespace hosts need root (ip netns, veth pairs)"
    for tool, package in (("ip", "iproute2"), ("unshare", "util-linux"), ("runuser", "util-linux"),
                          ("redis-server", "redis-server")):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install {package})"
    if postgres_bindir() is None:
        return "PostgreSQL's initdb is not installed (apt-get install postgresql)"
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        return "there is no postgres user to run PostgreSQL as (apt-get install postgresql)"
    probe = f"hdn-probe-{os.getpid()}"
    done = _ip("netns", "add", probe, check=False)
    if done.returncode != 0:
        return f"cannot create a network namespace: {done.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


# --- leftovers ----------------------------------------------------------------------------------------------

def _netns_names() -> list[str]:
    out = _ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def netns_pids(netns: str) -> list[int]:
    out = _ip("netns", "pids", netns, check=False).stdout
    return [int(p) for p in out.split() if p.isdigit() and int(p) != os.getpid()]


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def kill_netns(netns: str, *, grace_s: float = 0.0, timeout_s: float = 20.0) -> None:
    """End every process in ``netns``: SIGTERM and ``grace_s`` to finish, then SIGKILL until none is left."""
    if grace_s > 0:
        _signal_all(netns_pids(netns), signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while netns_pids(netns) and time.monotonic() < deadline:
            time.sleep(0.1)
    deadline = time.monotonic() + timeout_s
    while pids := netns_pids(netns):
        if time.monotonic() > deadline:
            raise NetnsError(f"processes {pids} in {netns} survive SIGKILL")
        _signal_all(pids, signal.SIGCONT)
        _signal_all(pids, signal.SIGKILL)
        time.sleep(0.05)


def sandboxes_under(root: Path) -> list[str]:
    """Ids of the sandbox containers (label heldout.sandbox) bind-mounting anything under ``root``."""
    listed = subprocess.run(["docker", "ps", "-aq", "--filter", "label=heldout.sandbox"],
                            capture_output=True, text=True)
    ids = listed.stdout.split()
    if listed.returncode != 0 or not ids:
        return []
    inspected = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True)
    try:
        containers = json.loads(inspected.stdout or "[]")
    except json.JSONDecodeError:
        return []
    prefix = str(root).rstrip("/") + "/"
    return [c["Id"] for c in containers
            if any(str(m.get("Source", "")).startswith(prefix) for m in c.get("Mounts") or [])]


def remove_sandboxes_under(root: Path) -> int:
    ids = sandboxes_under(root)
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True)
    return len(ids)


def cleanup_leftovers(prefix: str) -> list[str]:
    """Remove what a crashed run with this prefix left: processes, namespaces, links, sandboxes, directories."""
    removed = []
    for netns in _netns_names():
        if netns.startswith(f"{prefix}-"):
            kill_netns(netns)
            _ip("netns", "del", netns, check=False)
            removed.append(f"netns {netns}")
    for line in _ip("-o", "link", "show", check=False).stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
        if name.startswith(f"{prefix}-"):
            _ip("link", "del", name, check=False)
            removed.append(f"link {name}")
    for path in glob.glob(os.path.join(tempfile.gettempdir(), RUN_DIR_GLOB.format(prefix=prefix))):
        if shutil.which("docker"):
            remove_sandboxes_under(Path(path))
        shutil.rmtree(path, ignore_errors=True)
        removed.append(f"dir {path}")
    return removed


# --- hosts --------------------------------------------------------------------------------------------------

@dataclass
class Host:
    """One namespace host: run commands in it, see its processes, crash it."""

    name: str
    netns: str
    address: str  # its own address on its link (host A: the service address)
    root: Path  # its "disk"
    procs: list[subprocess.Popen] = field(default_factory=list)

    def wrap(self, argv: list[str], *, user: str | None = None) -> list[str]:
        """``argv`` run in this host's network namespace, in a UTS namespace named after the host."""
        cmd = ["ip", "netns", "exec", self.netns, "unshare", "--uts", "--", "sh", "-c",
               'hostname "$1" && shift && exec "$@"', "sh", self.netns]
        if user is not None:
            cmd += ["runuser", "-u", user, "--"]
        return cmd + list(argv)

    def run(self, argv: list[str], *, env: dict | None = None, timeout: float = 120, check: bool = True,
            input: str | None = None, user: str | None = None) -> subprocess.CompletedProcess:
        done = subprocess.run(self.wrap(argv, user=user), env=env, capture_output=True, text=True,
                              timeout=timeout, input=input, cwd=REPO)
        if check and done.returncode != 0:
            raise NetnsError(f"on {self.name}: {' '.join(argv)} exited {done.returncode}:\n"
                             f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        return done

    def start(self, argv: list[str], *, log: Path, env: dict | None = None,
              user: str | None = None) -> subprocess.Popen:
        """A long-running process on this host, its output in ``log``."""
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            proc = subprocess.Popen(self.wrap(argv, user=user), env=env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, cwd=REPO, start_new_session=True)
        self.procs.append(proc)
        return proc

    def heldout(self, *args: str, env: dict, timeout: float = 120, input: str | None = None) -> str:
        return self.run(HELDOUT + list(args), env=env, timeout=timeout, input=input).stdout

    def start_heldout(self, name: str, *args: str, env: dict, log_dir: Path) -> subprocess.Popen:
        return self.start(HELDOUT + list(args), log=log_dir / f"{self.name}-{name}.log", env=env)

    def pids(self) -> list[int]:
        return netns_pids(self.netns)

    def can_connect(self, address: str, port: int, timeout_s: float = 2.0) -> bool:
        """Whether a TCP connection from this host to address:port succeeds."""
        probe = ("import socket,sys\n"
                 f"try: socket.create_connection(({address!r}, {port}), timeout={timeout_s}).close()\n"
                 "except OSError: sys.exit(1)\n")
        return self.run([sys.executable, "-c", probe], check=False, timeout=timeout_s + 30).returncode == 0

    def freeze(self) -> list[int]:
        """SIGSTOP every process on the host (its sandboxes run on): the host hangs."""
        pids = self.pids()
        _signal_all(pids, signal.SIGSTOP)
        return pids

    def thaw(self) -> None:
        _signal_all(self.pids(), signal.SIGCONT)

    def crash(self) -> int:
        """The host loses power: SIGKILL every process in its namespace, then its sandboxes; returns how
        many sandboxes went with it. Nothing gets to clean up or say goodbye."""
        _signal_all(self.pids(), signal.SIGKILL)
        kill_netns(self.netns)
        for proc in self.procs:
            proc.wait()
        return remove_sandboxes_under(self.root)

    def stop(self, grace_s: float = 15.0) -> None:
        """A clean shutdown: SIGTERM (workers finish their job), then SIGKILL what is left."""
        kill_netns(self.netns, grace_s=grace_s)
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


class Network:
    """Host A (the server) and worker hosts, joined by point-to-point links; a context manager.

    ``Network(["b", "c"])`` makes hosts ``a``, ``b``, ``c``; ``Network([])`` only host A (one box).
    """

    def __init__(self, worker_hosts: list[str], *, prefix: str = "hdn", subnet: str = "10.77.0"):
        if len(worker_hosts) > 60:
            raise ValueError("at most 60 worker hosts fit the /24")
        if len(prefix) > 6:
            raise ValueError("keep the prefix short: interface names have 15 characters")
        self.prefix = prefix
        self.subnet = subnet
        self.root: Path | None = None
        self.server: Host | None = None
        self.workers: list[Host] = []
        self._worker_names = list(worker_hosts)

    @property
    def service_address(self) -> str:
        """Host A's address: what everything connects to."""
        return f"{self.subnet}.1"

    @property
    def operator_address(self) -> str:
        """The root namespace's end of its link to host A."""
        return self._link_ends(0)[1]

    @property
    def hosts(self) -> list[Host]:
        return ([self.server] if self.server else []) + self.workers

    def _link_ends(self, k: int) -> tuple[str, str]:
        base = 4 + 4 * k
        return f"{self.subnet}.{base + 1}", f"{self.subnet}.{base + 2}"

    def up(self) -> "Network":
        cleanup_leftovers(self.prefix)
        self.root = Path(tempfile.mkdtemp(prefix=f"{self.prefix}-run-"))
        self.root.chmod(0o755)
        try:
            self._build()
        except BaseException:
            self.down()
            raise
        return self

    def _build(self) -> None:
        p = self.prefix
        a = f"{p}-a"
        self.server = self._add_host("a", a, self.service_address)
        _ip("-n", a, "addr", "add", f"{self.service_address}/32", "dev", "lo")
        # The operator's link: the root namespace (tests, load generators) reaches host A only.
        a_end, op_end = self._link_ends(0)
        _ip("link", "add", f"{p}-op", "type", "veth", "peer", "name", f"{p}-opa")
        _ip("link", "set", f"{p}-opa", "netns", a)
        _ip("-n", a, "link", "set", f"{p}-opa", "name", "op0")
        _ip("-n", a, "addr", "add", f"{a_end}/30", "dev", "op0")
        _ip("-n", a, "link", "set", "op0", "up")
        _ip("addr", "add", f"{op_end}/30", "dev", f"{p}-op")
        _ip("link", "set", f"{p}-op", "up")
        _ip("route", "add", f"{self.service_address}/32", "via", a_end, "dev", f"{p}-op")
        for k, name in enumerate(self._worker_names, start=1):
            netns = f"{p}-{name}"
            a_end, host_end = self._link_ends(k)
            host = self._add_host(name, netns, host_end)
            _ip("link", "add", f"{p}-{k}x", "type", "veth", "peer", "name", f"{p}-{k}y")
            _ip("link", "set", f"{p}-{k}x", "netns", a)
            _ip("link", "set", f"{p}-{k}y", "netns", netns)
            _ip("-n", a, "link", "set", f"{p}-{k}x", "name", f"to-{name}"[:15])
            _ip("-n", netns, "link", "set", f"{p}-{k}y", "name", "eth0")
            _ip("-n", a, "addr", "add", f"{a_end}/30", "dev", f"to-{name}"[:15])
            _ip("-n", a, "link", "set", f"to-{name}"[:15], "up")
            _ip("-n", netns, "addr", "add", f"{host_end}/30", "dev", "eth0")
            _ip("-n", netns, "link", "set", "eth0", "up")
            _ip("-n", netns, "route", "add", f"{self.service_address}/32", "via", a_end, "dev", "eth0")
            self.workers.append(host)
        # veth links come up asynchronously: wait for the carrier on every link before anyone connects.
        links = [(self.server.netns, "op0")] + [(h.netns, "eth0") for h in self.workers]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if all("LOWER_UP" in _ip("-n", ns, "link", "show", dev, check=False).stdout for ns, dev in links):
                return
            time.sleep(0.05)
        raise NetnsError("the veth links did not come up within 10 s")

    def _add_host(self, name: str, netns: str, address: str) -> Host:
        _ip("netns", "add", netns)
        _ip("-n", netns, "link", "set", "lo", "up")
        # No forwarding: host A must not relay a worker host's packets anywhere else.
        subprocess.run(["ip", "netns", "exec", netns, "sysctl", "-qw", "net.ipv4.ip_forward=0"],
                       capture_output=True)
        root = self.root / name
        (root / "tmp").mkdir(parents=True)
        root.chmod(0o755)
        (root / "tmp").chmod(0o1777)
        return Host(name=name, netns=netns, address=address, root=root)

    def host(self, name: str) -> Host:
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(name)

    def down(self) -> None:
        """Stop everything (workers get SIGTERM and a few seconds), remove sandboxes, links, namespaces, files."""
        for host in reversed(self.hosts):
            try:
                host.stop(grace_s=10)
            except NetnsError:
                pass
        if self.root is not None and shutil.which("docker"):
            remove_sandboxes_under(self.root)
        cleanup_leftovers(self.prefix)
        self.root = None

    def __enter__(self) -> "Network":
        return self.up()

    def __exit__(self, *exc) -> None:
        self.down()


# --- services on host A -------------------------------------------------------------------------------------

def _wait_tcp(address: str, port: int, timeout_s: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection((address, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    tail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
    raise NetnsError(f"{what} did not listen on {address}:{port} within {timeout_s:.0f}s\n{tail}")


def start_postgres(host: Host, *, subnet: str, port: int = 5432, durable: bool = True,
                   max_connections: int = 300) -> str:
    """A fresh PostgreSQL cluster on ``host``, listening on its address only, trusting ``subnet``/24;
    returns the SQLAlchemy URL of its (empty) database ``heldout``."""
    bindir = postgres_bindir()
    data = host.root / "pgdata"
    sock = host.root / "pgsock"
    for path in (data, sock):
        path.mkdir()
        shutil.chown(path, "postgres", "postgres")
    data.chmod(0o700)
    host.run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
              "--no-sync", "--locale=C"], user="postgres", timeout=120)
    with open(data / "pg_hba.conf", "a") as hba:
        hba.write(f"host all all {subnet}.0/24 trust\n")
    settings = [f"listen_addresses={host.address}", f"port={port}", f"unix_socket_directories={sock}",
                f"max_connections={max_connections}", "shared_buffers=128MB"]
    if not durable:  # a test's throwaway cluster: nothing to keep across a crash of the machine
        settings += ["fsync=off", "synchronous_commit=off", "full_page_writes=off"]
    argv = [str(bindir / "postgres"), "-D", str(data)]
    for setting in settings:
        argv += ["-c", setting]
    log = host.root / "postgres.log"
    host.start(argv, log=log, user="postgres")
    _wait_tcp(host.address, port, 60, "PostgreSQL", log)
    import psycopg

    admin = f"postgresql://postgres@{host.address}:{port}/postgres"
    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
                conn.execute("CREATE DATABASE heldout")
            break
        except psycopg.OperationalError:  # still starting up
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    return f"postgresql+psycopg://postgres@{host.address}:{port}/heldout"


def start_redis(host: Host, *, port: int = 6379) -> str:
    """A fresh redis-server on ``host``'s address, keeping nothing on disk; returns its URL."""
    log = host.root / "redis.log"
    host.start(["redis-server", "--bind", host.address, "--port", str(port), "--save", "", "--appendonly", "no",
                "--protected-mode", "no", "--dir", str(host.root), "--logfile", ""], log=log)
    _wait_tcp(host.address, port, 30, "Redis", log)
    return f"redis://{host.address}:{port}/0"


def start_s3(host: Host, *, port: int = 9000) -> str:
    """moto's standalone S3 server (tests/s3_server.py) on ``host``'s address, keeping objects in its memory;
    returns its endpoint URL. Its log (one line per request, with the client's address) is ``s3.log``."""
    log = host.root / "s3.log"
    host.start(moto_argv(host.address, port), log=log, env=moto_env())
    _wait_tcp(host.address, port, 60, "the S3 server", log)
    return f"http://{host.address}:{port}"


def heldout_env(*, database_url: str, redis_url: str, data_dir: Path, tmp_dir: Path | None = None,
                **extra: str) -> dict:
    """The environment of a heldout process on a namespace host: this machine's, less any HELDOUT_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELDOUT_")}
    env.update(HELDOUT_DATABASE_URL=database_url, HELDOUT_REDIS_URL=redis_url, HELDOUT_DATA_DIR=str(data_dir),
               HELDOUT_SANDBOX="docker", HELDOUT_SECRET_KEY="netns-hosts-secret")
    if tmp_dir is not None:
        env["TMPDIR"] = str(tmp_dir)
    env.update(extra)
    return env


def wait_http(url: str, timeout_s: float, what: str, log: Path | None = None) -> None:
    import requests

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
    raise NetnsError(f"{what} did not answer 200 at {url} within {timeout_s:.0f}s\n{tail}")


# --- seeding ------------------------------------------------------------------------------------------------

SEED_PASSWORD = "seeded-password"


def seed_users(database_url: str, count: int, *, prefix: str = "learner") -> list[tuple[str, str]]:
    """``count`` users, each with an API token, written straight into the database (hashing a password per
    user would take minutes for hundreds); returns (username, token) pairs. All log in with SEED_PASSWORD."""
    import secrets

    from sqlalchemy import insert, select
    from werkzeug.security import generate_password_hash

    from heldout.db import make_engine
    from heldout.models import ApiToken, User, utcnow
    from heldout.platform.services.accounts import hash_token

    password_hash = generate_password_hash(SEED_PASSWORD)
    names = [f"{prefix}{i:05d}" for i in range(count)]
    tokens = {name: "hld_" + secrets.token_urlsafe(32) for name in names}
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            now = utcnow()
            conn.execute(insert(User), [dict(username=name, password_hash=password_hash, is_admin=False,
                                             is_organizer=False, created_at=now) for name in names])
            ids = dict(conn.execute(select(User.username, User.id).where(User.username.in_(names))).all())
            conn.execute(insert(ApiToken), [dict(user_id=ids[name], name="seeded", token_hash=hash_token(tokens[name]),
                                                 created_at=now) for name in names])
    finally:
        engine.dispose()
    return [(name, tokens[name]) for name in names]
