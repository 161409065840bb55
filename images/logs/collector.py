"""The stack's log collector, and the admin's reader of what it kept.

    collector.py                 serve: receive Docker's syslog driver's stream at LOG_ADDRESS (tcp://127.0.0.1:PORT)
    collector.py NAME            print NAME's log, oldest line first (rotated files included)
    collector.py --list          the container names with a log
    collector.py --settings      the bounds in force (JSON)
    collector.py --files NAME    NAME's files and their sizes in bytes (JSON)
    collector.py --ready         exit 0 once it listens (the image's health check)

Docker's syslog driver (syslog-format rfc5424micro, tag {{.Name}}) connects once per container to LOG_ADDRESS (the
collector runs in the host's network and listens on its loopback: the engine connects from the host, no user
container reaches it) and sends one line per log line. Each container name gets one file in LOG_DIR, <name>.log,
rotated before it would pass LOG_MAX_SIZE into <name>.log.1 .. <name>.log.<LOG_MAX_FILES - 1> (the oldest dropped):
a container's log never takes more than LOG_MAX_SIZE x LOG_MAX_FILES. A file not written for LOG_RETENTION_DAYS is
deleted (checked at start and hourly). The files outlive the containers (DockerSpawner removes a stopped server's
container, and its Docker log with it). The defaults of the three settings live here only; the stacks pass them
through as set.
"""
from __future__ import annotations

import asyncio
import glob
import json
import os
import re
import signal
import sys
import time
from pathlib import Path

DEFAULTS = {"LOG_MAX_SIZE": "10m", "LOG_MAX_FILES": "5", "LOG_RETENTION_DAYS": "14"}
MIN_SIZE = 64 * 1024          # above one Docker log line (16 KiB) with its header
LOG_DIR = Path(os.environ.get("LOG_DIR") or "/var/log/platform")
PREFIX = os.environ.get("NAME_PREFIX", "")
READY = Path("/run/collector-listening")   # in the container's own filesystem: made once it listens
SWEEP_SECONDS = 3600
# <PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG (RFC 5424; Docker's rfc5424micro)
RFC5424 = re.compile(r"<\d{1,3}>\d+ (\S+) \S+ (\S+) \S+ \S+ (?:-|(?:\[.*?\])+) ?(.*)$", re.S)
UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def setting(name: str) -> str:
    return os.environ.get(name) or DEFAULTS[name]


def parse_size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+)\s*([kmgt]?)b?\s*", text.lower())
    if not m:
        raise SystemExit(f"LOG_MAX_SIZE {text!r}: a size such as 10m, 512k or 1g")
    return int(m.group(1)) * 1024 ** "_kmgt".index(m.group(2) or "_")


def settings() -> dict:
    size, files, days = parse_size(setting("LOG_MAX_SIZE")), int(setting("LOG_MAX_FILES")), \
        float(setting("LOG_RETENTION_DAYS"))
    if size < MIN_SIZE or files < 1 or days <= 0:
        raise SystemExit(f"LOG_MAX_SIZE must be at least {MIN_SIZE} bytes, LOG_MAX_FILES at least 1, "
                         f"LOG_RETENTION_DAYS above 0 (got {size}, {files}, {days})")
    return {"max_size": size, "max_files": files, "retention_days": days, "log_dir": str(LOG_DIR),
            "address": os.environ.get("LOG_ADDRESS", ""), "max_bytes_per_container": size * files}


def listen_address(address: str) -> tuple[str, int]:
    m = re.fullmatch(r"tcp://(127\.0\.0\.1|localhost):(\d+)", address)
    if not m:
        raise SystemExit(f"LOG_ADDRESS {address!r}: tcp://127.0.0.1:PORT (the host's loopback only)")
    return m.group(1), int(m.group(2))


def files_of(name: str, max_files: int) -> list[Path]:
    """NAME's files, oldest first."""
    return [LOG_DIR / (f"{name}.log.{i}" if i else f"{name}.log") for i in range(max_files - 1, -1, -1)]


class Writer:
    """One container name's current file, rotated before it would pass the size bound."""

    def __init__(self, name: str, conf: dict):
        self.name, self.conf = name, conf
        self.path = LOG_DIR / f"{name}.log"
        self.file = open(self.path, "ab")  # noqa: SIM115 - kept open between lines
        self.size = self.file.tell()

    def write(self, data: bytes) -> None:
        if self.size + len(data) > self.conf["max_size"] and self.size:
            self.rotate()
        self.file.write(data)
        self.file.flush()
        self.size += len(data)

    def rotate(self) -> None:
        self.file.close()
        paths = files_of(self.name, self.conf["max_files"])   # oldest first; the last is <name>.log
        paths[0].unlink(missing_ok=True)
        for older, newer in zip(paths, paths[1:], strict=False):
            if newer.exists():
                newer.rename(older)
        self.file = open(self.path, "ab")  # noqa: SIM115
        self.size = 0

    def close(self) -> None:
        self.file.close()


class Collector:
    def __init__(self, conf: dict):
        self.conf = conf
        self.writers: dict[str, Writer] = {}

    def writer(self, name: str) -> Writer:
        if name not in self.writers:
            self.writers[name] = Writer(name, self.conf)
        return self.writers[name]

    def line(self, raw: bytes) -> None:
        text = raw.decode("utf-8", errors="replace").rstrip("\n")
        m = RFC5424.match(text)
        if m:
            stamp, name, message = m.groups()
        else:   # not Docker's format: kept, under a name of its own
            stamp, name, message = time.strftime("%Y-%m-%dT%H:%M:%S%z"), "unparsed", text
        name = UNSAFE.sub("_", name.lstrip("/")) or "unnamed"
        self.writer(name).write(f"{stamp} {message}\n".encode())

    async def connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while raw := await reader.readline():
                self.line(raw)
        except (ConnectionError, asyncio.LimitOverrunError, ValueError) as exc:
            print(f"collector: a connection ended: {exc!r}", file=sys.stderr)
        finally:
            writer.close()

    def sweep(self) -> list[str]:
        """Delete the files not written for the retention period; returns their names."""
        cutoff = time.time() - self.conf["retention_days"] * 86400
        gone = []
        for path in LOG_DIR.glob("*.log*"):
            if path.stat().st_mtime < cutoff:
                name = path.name.split(".log")[0]
                if name in self.writers and path == self.writers[name].path:
                    self.writers.pop(name).close()
                path.unlink(missing_ok=True)
                gone.append(path.name)
        return gone

    async def sweeper(self) -> None:
        while True:
            gone = self.sweep()
            if gone:
                print(f"collector: retention ({self.conf['retention_days']} days) deleted {gone}", flush=True)
            await asyncio.sleep(SWEEP_SECONDS)   # a period, not a wait for readiness


async def serve(conf: dict) -> None:
    host, port = listen_address(conf["address"])
    READY.unlink(missing_ok=True)    # left by a previous run of this container
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    os.chmod(LOG_DIR, 0o700)
    collector = Collector(conf)
    server = await asyncio.start_server(collector.connection, host=host, port=port, limit=1 << 20)
    READY.touch()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"collector: listening on {host}:{port}; {json.dumps(conf)}", flush=True)
    sweeper = asyncio.create_task(collector.sweeper())
    try:
        await stop.wait()
    finally:
        sweeper.cancel()
        server.close()
        READY.unlink(missing_ok=True)
        for w in collector.writers.values():
            w.close()


def resolve(name: str) -> str | None:
    """A name as given, or with the stack's prefix, or a stack service's short name (hub, proxy, db, firewall)."""
    for candidate in (name, f"{PREFIX}{name}", f"{PREFIX}jupyterhub-{name}"):
        candidate = UNSAFE.sub("_", candidate)
        if (LOG_DIR / f"{candidate}.log").exists():
            return candidate
    return None


def main(argv: list[str]) -> int:
    conf = settings()
    if not argv:
        asyncio.run(serve(conf))
        return 0
    if argv[0] == "--settings":
        print(json.dumps(conf))
        return 0
    if argv[0] == "--ready":
        return 0 if READY.exists() else 1
    if argv[0] == "--list":
        print("\n".join(sorted({p.name.split(".log")[0] for p in LOG_DIR.glob("*.log*")})))
        return 0
    if argv[0] == "--files" and len(argv) == 2:
        name = resolve(argv[1]) or argv[1]
        print(json.dumps({p.name: p.stat().st_size for p in LOG_DIR.glob(f"{glob.escape(name)}.log*")}))
        return 0
    name = resolve(argv[0])
    if name is None:
        print(f"no log of {argv[0]!r} (logs --list names those kept)", file=sys.stderr)
        return 1
    out = sys.stdout.buffer
    for path in files_of(name, conf["max_files"]):
        if path.exists():
            out.write(path.read_bytes())
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
