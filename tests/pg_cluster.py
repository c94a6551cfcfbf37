"""A throwaway PostgreSQL cluster for tests: initdb in a temp dir, free port, torn down after.

initdb and postgres refuse to run as root, so when the tests run as root the cluster
belongs to the ``postgres`` user and every server command runs through ``runuser``.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Cluster:
    """A running cluster and how to reach it."""

    bin_dir: Path
    data_dir: Path
    port: int
    password: str
    log_file: Path

    @property
    def admin_url(self) -> str:
        """Superuser URL (password auth over TCP, like production)."""
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        """URL of one database in this cluster."""
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        """Stop immediately; the data directory is thrown away anyway."""
        _run_as_owner(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "stop"],
            check=False,
        )


def find_bin_dir() -> Path | None:
    """Newest /usr/lib/postgresql/<version>/bin that has initdb, or PG_BIN_DIR."""
    explicit = os.environ.get("HEADRACE_PG_BIN")
    if explicit:
        return Path(explicit)
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if candidates:
        return Path(candidates[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _run_as_owner(cmd: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    if _as_root():
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=120)


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_cluster(base: Path, bin_dir: Path) -> Cluster:
    """initdb + pg_ctl start; raises RuntimeError with the server log on failure."""
    base.mkdir(parents=True, exist_ok=True)
    data_dir, sock_dir = base / "data", base / "sock"
    sock_dir.mkdir(exist_ok=True)
    password = secrets.token_hex(12)
    pwfile = base / "pwfile"
    pwfile.write_text(password + "\n")
    log_file = base / "server.log"
    if _as_root():
        # The postgres user must be able to reach and own everything under base.
        for parent in [base, *base.parents]:
            if parent == Path("/"):
                break
            os.chmod(parent, os.stat(parent).st_mode | 0o011)
        shutil.chown(base, "postgres", "postgres")
        for path in (sock_dir, pwfile):
            shutil.chown(path, "postgres", "postgres")
    result = _run_as_owner(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            f"--pwfile={pwfile}",
            "--no-sync",
        ],
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"initdb failed: {result.stderr.strip() or result.stdout.strip()}")
    last_error = ""
    for _ in range(3):  # a port can be taken between free_port() and the bind
        port = free_port()
        opts = (
            f"-p {port} -k {sock_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
            " -c shared_preload_libraries=pg_stat_statements"
        )
        if not _has_pg_stat_statements(bin_dir):
            opts = opts.replace(" -c shared_preload_libraries=pg_stat_statements", "")
        result = _run_as_owner(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data_dir),
                "-o",
                opts,
                "-l",
                str(log_file),
                "-w",
                "-t",
                "60",
                "start",
            ],
            check=False,
        )
        if result.returncode == 0:
            return Cluster(bin_dir, data_dir, port, password, log_file)
        last_error = log_file.read_text() if log_file.exists() else result.stderr
    raise RuntimeError(f"postgres did not start: {last_error[-2000:]}")


def _has_pg_stat_statements(bin_dir: Path) -> bool:
    lib = bin_dir.parent / "lib" / "pg_stat_statements.so"
    return lib.exists()
