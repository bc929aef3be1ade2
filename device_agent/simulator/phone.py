"""SimulatedPhone: one phone listening on a TCP port for `adb connect`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from .adb.transport import AdbTransport, ServiceHandler
from .core import AdvanceReport, PhoneCore
from .faults import Faults
from .loop import LoopThread
from .owntracks import OwnTracksApp
from .services.shell import parse_service, serve_shell
from .services.sync import serve_sync
from .services.uiautomator import serve_uiautomator
from .state import PhoneState
from .ui.controller import UiController

log = logging.getLogger(__name__)

FEATURES = "shell_v2,fixed_push_mkdir"


class SimulatedPhone:
    """A phone served over adb's device protocol. Use as a context manager or start()/stop().

    All methods are safe to call from any thread while the phone runs.
    """

    def __init__(self, phone_dir: Path, *, port: int = 0, host: str = "127.0.0.1",
                 loop: LoopThread | None = None) -> None:
        self.core = PhoneCore(Path(phone_dir))
        self.tracker = OwnTracksApp(self.core)
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._loop = loop
        self._own_loop = loop is None
        self._server: asyncio.Server | None = None
        self._transports: set[AdbTransport] = set()
        self._pending_auth: set[AdbTransport] = set()
        self._clock_task: asyncio.Task[None] | None = None

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> SimulatedPhone:
        if self._loop is None:
            self._loop = LoopThread(f"sim-{self.core.state.identity.serial}")
        self._server = self._loop.run(asyncio.start_server(self._accept, self.host, self._requested_port))
        self._port = self._server.sockets[0].getsockname()[1]
        self.tracker.power_on()
        log.info("sim.phone.started serial=%s port=%s", self.serial, self._port)
        return self

    def stop(self, *, save: bool = True) -> None:
        if self._loop is None or self._server is None:
            return
        self._loop.run(self._shutdown())
        self._server = None
        self.tracker.power_off()
        if save:
            self.core.save()
        if self._own_loop:
            self._loop.stop()
            self._loop = None

    async def _shutdown(self) -> None:
        if self._clock_task is not None:
            self._clock_task.cancel()
        assert self._server is not None
        self._server.close()
        for transport in list(self._transports):
            transport.abort()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 5)

    def __enter__(self) -> SimulatedPhone:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- identity ----------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("phone is not started")
        return self._port

    @property
    def address(self) -> str:
        """The adb serial of this phone once connected: host:port."""
        return f"{self.host}:{self.port}"

    @property
    def serial(self) -> str:
        """ro.serialno: the phone's own serial number."""
        return self.core.state.identity.serial

    @property
    def state(self) -> PhoneState:
        return self.core.state

    @property
    def faults(self) -> Faults:
        return self.core.faults

    @property
    def ui(self) -> UiController:
        return self.core.ui

    # --- time and data -----------------------------------------------------------------
    def advance(self, seconds: float) -> AdvanceReport:
        return self.core.advance(seconds)

    def run_clock(self, speed: float = 1.0, tick: float = 1.0, *, catch_up: bool = False) -> None:
        """Let the phone's clock follow wall time (x speed), adding activity every tick seconds.

        catch_up: the clock never passes wall time; once it reaches it, it keeps to it (a phone
        replaying the recent past at `speed`, then living in the present).
        """
        if self._loop is None:
            raise RuntimeError("phone is not started")

        async def ticker() -> None:
            while True:
                await asyncio.sleep(tick)
                target = self.core.now_ms() + int(tick * speed * 1000)
                if catch_up:
                    target = min(target, int(time.time() * 1000))
                await asyncio.to_thread(self.core.advance_to, target)

        def begin() -> None:
            if self._clock_task is not None:
                self._clock_task.cancel()
            self._clock_task = asyncio.ensure_future(ticker())

        self._loop.call(begin)

    def save(self) -> None:
        self.core.save()

    # --- adb authorisation ---------------------------------------------------------------
    def require_auth(self) -> None:
        """Forget the host key: connections now show `unauthorized` until accept_auth()."""
        with self.core.lock:
            self.core.state.adb_authorized = False
        self.disconnect()

    def accept_auth(self) -> None:
        """The user tapped "Allow" on the USB-debugging dialog."""
        with self.core.lock:
            self.core.state.adb_authorized = True
        if self._loop is not None:
            for transport in list(self._pending_auth):
                self._loop.call(asyncio.ensure_future, transport.go_online())
            self._pending_auth.clear()

    def disconnect(self) -> None:
        """Drop every adb connection at once, like pulling the cable."""
        if self._loop is not None:
            for transport in list(self._transports):
                self._loop.call(transport.abort)

    @property
    def connections(self) -> int:
        return sum(1 for t in self._transports if t.online)

    # --- Endpoint protocol used by AdbTransport -------------------------------------------
    def banner(self) -> bytes:
        ident = self.core.state.identity
        return (f"device::ro.product.name={ident.product};ro.product.model={ident.model};"
                f"ro.product.device={ident.device};features={FEATURES}").encode()

    def is_authorized(self) -> bool:
        return self.core.state.adb_authorized

    def auth_pending(self, transport: AdbTransport) -> None:
        self._pending_auth.add(transport)

    def transport_closed(self, transport: AdbTransport) -> None:
        self._transports.discard(transport)
        self._pending_auth.discard(transport)

    def link_rate(self) -> float | None:
        return self.core.faults.link_rate

    def open_service(self, name: str, transport: AdbTransport) -> ServiceHandler | None:
        core = self.core
        request = parse_service(name)
        if request is not None:
            return lambda stream: serve_shell(core, stream, request)
        if name.startswith("sync:"):
            return lambda stream: serve_sync(core, stream, transport)
        if name.startswith("tcp:"):
            port = name[4:].split(":")[-1]
            if port.isdigit() and core.ui_server_ports.get(int(port), 0) > 0:
                return lambda stream: serve_uiautomator(core, stream)
        return None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        transport = AdbTransport(self, reader, writer)
        self._transports.add(transport)
        await transport.run()

