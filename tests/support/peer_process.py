"""A protocol peer run as its own process, from the tests' side: the TSA, the SAML IdP, the OpenID
provider. The child (`python -m <module> [arguments]`) prints its port as the last word of its first
line of stdout once it listens; nothing else is shared with it, so our code talks to it over HTTP
exactly as to a peer on the internet.

    with TimestampAuthority() as tsa:      # a subclass names its module
        ... tsa.url ...                    # "http://127.0.0.1:<port>/"
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Self

ROOT = Path(__file__).resolve().parents[2]


class PeerProcess:
    module = ""  # what `python -m` runs
    description = "the peer process"
    quiet = False  # True: the child's stderr goes nowhere (a chatty server)

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def arguments(self) -> list[str]:
        return []

    def start(self) -> Self:
        self.process = subprocess.Popen([sys.executable, "-m", self.module, *self.arguments()], cwd=ROOT,
                                        stdout=subprocess.PIPE, text=True,
                                        stderr=subprocess.DEVNULL if self.quiet else None)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # blocks until the child listens (or dies)
        port = line.split()[-1] if line.split() else ""
        if not port.isdigit():
            self.stop()
            raise RuntimeError(f"{self.description} did not start (printed {line!r})")
        self.url = f"http://127.0.0.1:{port}/"
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
