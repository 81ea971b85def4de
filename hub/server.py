"""Running the hub: uvicorn with TLS, in this process (`griddesk-hub serve`) or in a thread (tests)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import uvicorn

from hub.app import create_app
from hub.service import HubService
from hub.storage import open_storage


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(service: HubService, *, host: str, port: int, cert: Path, key: Path, **app_kwargs) -> uvicorn.Config:
    app_kwargs.setdefault("sign_key", key)  # scope snapshots are signed with the certificate's key
    return uvicorn.Config(create_app(service, **app_kwargs), host=host, port=port, ssl_certfile=str(cert),
                          ssl_keyfile=str(key), log_level="warning", access_log=False, lifespan="off",
                          timeout_keep_alive=30)


class ThreadedHub:
    """A real hub on loopback with TLS in a background thread (for tests and benches)."""

    def __init__(self, data: str, cert: Path, key: Path, *, port: int | None = None, **app_kwargs):
        self.storage = open_storage(data)
        self.service = HubService(self.storage)
        self.port = port or free_port()
        self.server = uvicorn.Server(config(self.service, host="127.0.0.1", port=self.port, cert=cert, key=key,
                                            **app_kwargs))
        self.thread = threading.Thread(target=self.server.run, daemon=True, name="hub")

    @property
    def address(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> ThreadedHub:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the hub did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.storage.close()


ROOT = Path(__file__).resolve().parent.parent


class HubProcess:
    """`griddesk-hub serve` in a child process on loopback with TLS (as an office runs it; a test
    can SIGKILL it). crash: the hub dies right after a push's commit, before it acknowledges."""

    def __init__(self, data: str, tls: Path, *, crash: bool = False, port: int | None = None):
        self.data, self.tls, self.port = data, tls, port or free_port()
        env = dict(os.environ, PYTHONPATH=str(ROOT), GRIDDESK_HUB_CRASH_AFTER_COMMIT="1" if crash else "0")
        self.proc = subprocess.Popen([sys.executable, "-m", "hub.cli", "--data", data, "serve", "--host", "127.0.0.1",
                                      "--port", str(self.port), "--tls", str(tls)], cwd=ROOT, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(self.proc.stderr.read().decode()) from None
                time.sleep(0.05)

    @property
    def address(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)


class CodeMaker:
    """What enrolment needs from a hub (.service, .address), on its storage opened beside a hub that
    runs in another process: enrolment codes are made on the storage directly."""

    def __init__(self, data: str, address: str):
        self.storage = open_storage(data)
        self.service = HubService(self.storage)
        self.address = address

    def close(self) -> None:
        self.storage.close()
