"""Deterministic phones and their activity, from a seed.

A day's activity (drives between customer sites with GPS fixes, calls with
recordings, SMS threads) is a pure function of (seed, date), so the history
made by `generate_phone` and the activity a running phone adds as its clock
advances come from the same place and never disagree.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from . import cn_data
from .oem import DEFAULT_MIX, OEMS, SDK_BY_RELEASE
from .state import FS_DIR, STATE_FILE, Battery, Fix, Generator, Identity, Package, PhoneState, save_state

HOMES = ((31.2304, 121.4737), (31.2990, 121.5030), (31.1880, 121.4360), (31.2450, 121.5750))
EARTH_M_PER_DEG = 111_320.0


class GenerateError(ValueError):
    """Parameters that cannot make a phone."""


@dataclass(frozen=True, slots=True)
class CallEvent:
    time_ms: int
    number: str
    duration: int
    type: int
    contact: dict | None
    geocoded: str | None
    recording_seconds: float | None


@dataclass(frozen=True, slots=True)
class SmsEvent:
    time_ms: int
    address: str
    body: str
    type: int
    contact: dict | None


Event = CallEvent | SmsEvent | Fix


def _ms(day: date, at: float, tz: ZoneInfo) -> int:
    """Epoch ms of `at` hours after local midnight of `day`."""
    midnight = datetime.combine(day, time(0), tz)
    return int((midnight + timedelta(hours=at)).timestamp() * 1000)


def _offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    return lat + north_m / EARTH_M_PER_DEG, lon + east_m / (EARTH_M_PER_DEG * math.cos(math.radians(lat)))


def _distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    north = (b[0] - a[0]) * EARTH_M_PER_DEG
    east = (b[1] - a[1]) * EARTH_M_PER_DEG * math.cos(math.radians(a[0]))
    return math.hypot(north, east)


class _Track:
    """Builds a day's GPS fixes: drives at road speed, noisy dwells at stops."""

    def __init__(self, rng: random.Random, start: tuple[float, float], t_ms: int) -> None:
        self.rng = rng
        self.pos = start
        self.t = t_ms
        self.fixes: list[Fix] = []

    def _fix(self, lat: float, lon: float, sigma: float, speed: float, bearing: float | None) -> None:
        lat, lon = _offset(lat, lon, self.rng.gauss(0, sigma), self.rng.gauss(0, sigma))
        self.fixes.append(Fix(time_ms=self.t, lat=round(lat, 6), lon=round(lon, 6),
                              accuracy=round(max(2.0, abs(self.rng.gauss(sigma * 1.5, sigma))), 1),
                              altitude=round(self.rng.uniform(4, 30), 1), speed=round(speed, 2),
                              bearing=None if bearing is None else round(bearing, 1)))

    def drive(self, dest: tuple[float, float]) -> None:
        distance = _distance_m(self.pos, dest) * 1.3
        speed = self.rng.uniform(6, 12)
        steps = max(1, int(distance / speed / 30))
        bearing = math.degrees(math.atan2(dest[1] - self.pos[1], dest[0] - self.pos[0])) % 360
        start = self.pos
        for step in range(1, steps + 1):
            self.t += 30_000
            f = step / steps
            self._fix(start[0] + (dest[0] - start[0]) * f, start[1] + (dest[1] - start[1]) * f, 5, speed, bearing)
        self.pos = dest

    def dwell(self, minutes: float, interval_s: int = 120) -> None:
        for _ in range(max(1, int(minutes * 60 / interval_s))):
            self.t += interval_s * 1000
            self._fix(self.pos[0], self.pos[1], 8, 0.0, None)

    def spoil(self) -> None:
        """A few bad fixes (huge accuracy, or a jump) and sometimes a mock fix."""
        if not self.fixes:
            return
        for _ in range(self.rng.randint(1, 3)):
            i = self.rng.randrange(len(self.fixes))
            f = self.fixes[i]
            if self.rng.random() < 0.5:
                self.fixes[i] = f.model_copy(update={"accuracy": round(self.rng.uniform(800, 3000), 1),
                                                     "provider": "network"})
            else:
                lat, lon = _offset(f.lat, f.lon, self.rng.uniform(2000, 5000), self.rng.uniform(-3000, 3000))
                self.fixes[i] = f.model_copy(update={"lat": round(lat, 6), "lon": round(lon, 6)})
        if self.rng.random() < 0.25:
            i = self.rng.randrange(len(self.fixes))
            self.fixes[i] = self.fixes[i].model_copy(update={"mock": True, "accuracy": 3.0})


def _customers(state: PhoneState) -> list[dict]:
    return [c for c in state.contacts if c.get("lat") is not None]


def _dialled(rng: random.Random, stored: str) -> str:
    digits = "".join(ch for ch in stored if ch.isdigit() or ch == "+")
    if rng.random() < 0.05 and digits.startswith("1") and len(digits) == 11:
        return rng.choice(cn_data.IP_PREFIXES) + digits
    return digits


def _national(number: str) -> str:
    digits = "".join(ch for ch in number if ch.isdigit())
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) >= 10:
            return digits[len(prefix):]
    return digits


def day_events(state: PhoneState, day: date) -> list[Event]:
    """All activity of one local day, sorted by time. Pure function of (state.generator, contacts, day)."""
    gen = state.generator
    if gen is None:
        return []
    tz = ZoneInfo(state.timezone)
    rng = random.Random(f"{gen.seed}:{day.isoformat()}")
    customers = _customers(state)
    workday = day.weekday() in gen.workdays and bool(customers)
    events: list[Event] = []
    home = tuple(gen.home)
    if workday:
        track = _Track(rng, home, _ms(day, rng.uniform(8.2, 8.9), tz))
        visits = rng.sample(customers, min(len(customers), rng.randint(3, 5)))
        for customer in visits:
            track.drive((float(customer["lat"]), float(customer["lon"])))
            track.dwell(rng.uniform(25, 80))
        track.drive(home)
        track.spoil()
        events += track.fixes
        day_start, day_end = track.fixes[0].time_ms, track.t
        talkers = visits + rng.sample(customers, min(len(customers), 3))
        n_calls, n_threads = rng.randint(4, 10), rng.randint(1, 2)
    else:
        track = _Track(rng, home, _ms(day, 10, tz))
        track.dwell(600, interval_s=1800)
        events += track.fixes
        day_start, day_end = _ms(day, 10, tz), _ms(day, 20, tz)
        talkers, visits = customers, []
        n_calls, n_threads = rng.randint(0, 2), 0
    for _ in range(n_calls):
        events.append(_call(rng, gen, talkers, rng.randint(day_start, day_end)))
    for customer in rng.sample(visits, min(n_threads, len(visits))):
        t = rng.randint(day_start - 3_600_000, day_end)
        when = rng.choice(("上午", "下午"))
        for kind, body in cn_data.visit_sms(rng, str(customer["display_name"]).split()[0], str(customer["company"]),
                                            when):
            t += rng.randint(40_000, 1_800_000)
            number = customer["numbers"][0]["number"]
            address = cn_data.as_received(rng, _national(number)) if kind == 1 else _dialled(rng, number)
            events.append(SmsEvent(t, address, body, kind, customer))
    for _ in range(rng.randint(0, 3)):
        sender, body = cn_data.service_sms(rng)
        events.append(SmsEvent(_ms(day, rng.uniform(7, 22), tz), sender, body, 1, None))
    events.sort(key=lambda e: e.time_ms)
    return events


def _call(rng: random.Random, gen: Generator, talkers: list[dict], t: int) -> CallEvent:
    roll = rng.random()
    contact = rng.choice(talkers) if talkers and roll < 0.8 else None
    if contact is not None:
        stored = rng.choice(contact["numbers"])["number"]
        national = _national(stored)
        geocoded = contact.get("place")
    elif roll < 0.9:
        national, geocoded = rng.choice(cn_data.SERVICE_NUMBERS)
        stored = national
    else:
        national = cn_data.mobile(rng)
        stored, geocoded = national, rng.choice(cn_data.MOBILE_GEO)
    kind = rng.choices((1, 2, 3, 5), weights=(40, 45, 10, 5))[0]
    if kind == 2:
        number = _dialled(rng, stored)
        answered = rng.random() < 0.85
    else:
        number = cn_data.as_received(rng, national)
        answered = kind == 1
    duration = int(min(1800, rng.lognormvariate(4.4, 0.9))) + 3 if answered else 0
    record = gen.recordings_enabled and duration > 0
    seconds = round(rng.uniform(*gen.recording_seconds), 2) if record else None
    return CallEvent(t, number, duration, kind, contact, geocoded, seconds)


def _imei(rng: random.Random, tac: str) -> str:
    body = tac + "".join(rng.choice("0123456789") for _ in range(6))
    total = 0
    for i, ch in enumerate(body):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


def _contacts(rng: random.Random, home: tuple[float, float], count: int, saved_before_ms: int) -> list[dict]:
    """Customers, then family and a colleague, saved an hour apart before ``saved_before_ms`` (save times
    take no random draw, so the rest of a seeded phone does not depend on them)."""
    contacts: list[dict] = []
    for i in range(count):
        name = cn_data.person_name(rng)
        company = cn_data.company_name(rng)
        numbers = []
        national = cn_data.mobile(rng)
        numbers.append({"number": cn_data.as_entered(rng, national), "type": 2, "label": None})
        place = rng.choice(cn_data.MOBILE_GEO)
        if rng.random() < 0.35:
            line, place = cn_data.landline(rng)
            numbers.append({"number": cn_data.as_entered(rng, line), "type": 3, "label": None})
        radius, angle = rng.uniform(1500, 18000), rng.uniform(0, 2 * math.pi)
        lat, lon = _offset(home[0], home[1], radius * math.sin(angle), radius * math.cos(angle))
        title = rng.choice(cn_data.TITLES)
        display = f"{name[0]}{title} {company[2:4]}" if rng.random() < 0.5 else f"{name} {company[2:6]}"
        contacts.append({"_id": i + 1, "display_name": display, "company": company, "place": place,
                         "lat": round(lat, 6), "lon": round(lon, 6), "numbers": numbers})
    for j, label in enumerate(("老婆", "妈妈", "同事-" + cn_data.person_name(rng))):
        contacts.append({"_id": count + j + 1, "display_name": label, "company": None, "place": None,
                         "lat": None, "lon": None,
                         "numbers": [{"number": cn_data.mobile(rng), "type": 2, "label": None}]})
    for i, contact in enumerate(contacts):
        contact["updated_ms"] = saved_before_ms - (len(contacts) - i) * 3_600_000
    return contacts


SYSTEM_PACKAGES = {
    "com.android.settings": "Settings", "com.android.phone": "Phone", "com.android.shell": "Shell",
    "com.android.providers.telephony": "Phone and Messaging Storage",
    "com.android.providers.contacts": "Contacts Storage", "com.android.soundrecorder": "Recorder",
}
USER_APPS = {
    "com.tencent.mm": ("WeChat", "8.0.40", 2420),
    "com.alibaba.android.rimet": ("DingTalk", "7.0.50", 700050),
    "com.autonavi.minimap": ("Amap", "13.08.0", 130800),
}


def _packages(sdk: int, install_ms: int) -> dict[str, Package]:
    packages = {name: Package(label=label, system=True, version_name=str(sdk), version_code=sdk,
                              apk_path=f"/system/app/{label.replace(' ', '')}/{label.replace(' ', '')}.apk",
                              first_install_ms=install_ms)
                for name, label in SYSTEM_PACKAGES.items()}
    controller = "com.android.permissioncontroller" if sdk >= 29 else "com.android.packageinstaller"
    packages[controller] = Package(label="Permission controller", system=True, apk_path=f"/system/priv-app/{controller}.apk")
    for name, (label, version, code) in USER_APPS.items():
        packages[name] = Package(label=label, version_name=version, version_code=code,
                                 apk_path=f"/data/app/{name}-1/base.apk", launcher_activity=".ui.LauncherUI",
                                 requested_permissions=["android.permission.ACCESS_FINE_LOCATION",
                                                        "android.permission.INTERNET"],
                                 granted_permissions=["android.permission.INTERNET"], first_install_ms=install_ms)
    return packages


def new_phone_state(*, seed: int, oem: str | None = None, start_ms: int, customers: int = 40,
                    recording_seconds: tuple[float, float] = (2.0, 4.0), recording_format: str | None = None,
                    recordings_enabled: bool = True, workdays: tuple[int, ...] = (0, 1, 2, 3, 4)) -> PhoneState:
    """A phone with identity, contacts, apps and settings, and no activity yet (clock at start_ms)."""
    rng = random.Random(f"{seed}:phone")
    key = oem or rng.choice(DEFAULT_MIX)
    if key not in OEMS:
        raise GenerateError(f"unknown brand {key!r}; choose from {', '.join(OEMS)}")
    if recording_seconds[0] <= 0 or recording_seconds[1] < recording_seconds[0]:
        raise GenerateError("recording_seconds must be (min, max) with 0 < min <= max")
    profile = OEMS[key]
    model = rng.choice(profile.models)
    release = rng.choice(model.releases)
    sdk = SDK_BY_RELEASE[release]
    home = rng.choice(HOMES)
    home = _offset(*home, rng.uniform(-2000, 2000), rng.uniform(-2000, 2000))
    install_ms = start_ms - rng.randint(30, 400) * 86_400_000
    identity = Identity(
        oem=key, brand=model.brand, manufacturer=profile.manufacturer, model=model.model, device=model.device,
        product=model.product, android_release=release, sdk=sdk,
        serial=profile.serial(lambda chars, n: "".join(rng.choice(chars) for _ in range(n))),
        imei=_imei(rng, rng.choice(profile.tac_prefixes)),
        build_id=rng.choice(("TKQ1.221114.001", "SKQ1.211006.001", "RKQ1.200826.002", "QKQ1.190910.002")))
    android_id = "".join(rng.choice("0123456789abcdef") for _ in range(16))
    return PhoneState(
        identity=identity,
        own_number="+86" + cn_data.mobile(rng),
        boot_time_ms=start_ms - rng.randint(1, 48) * 3_600_000,
        clock_ms=start_ms,
        contacts=_contacts(rng, home, customers, start_ms),
        battery=Battery(level=rng.randint(60, 100)),
        packages=_packages(sdk, install_ms),
        settings={
            "global": {"adb_enabled": "1", "development_settings_enabled": "1", "auto_time": "1",
                       "airplane_mode_on": "0", "stay_on_while_plugged_in": "0"},
            "secure": {"android_id": android_id, "location_mode": "3", "default_input_method":
                       "com.android.inputmethod.latin/.LatinIME"},
            "system": {"screen_off_timeout": "60000", "time_12_24": "24"},
        },
        accounts=["com.xiaomi"] if key == "xiaomi" and rng.random() < 0.5 else [],
        pm_grant_blocked=["android.permission.ACCESS_BACKGROUND_LOCATION"] if sdk >= 30 else [],
        storage_total_bytes=rng.choice((64, 128, 256)) * 1024**3,
        generator=Generator(seed=seed, home=(round(home[0], 6), round(home[1], 6)),
                            recording_seconds=recording_seconds, recording_format=recording_format,
                            recordings_enabled=recordings_enabled, workdays=list(workdays)),
    )


def generate_phone(phone_dir: Path, *, seed: int, oem: str | None = None, days: int = 3,
                   now: datetime | None = None, customers: int = 40,
                   recording_seconds: tuple[float, float] = (2.0, 4.0), recording_format: str | None = None,
                   recordings_enabled: bool = True, workdays: tuple[int, ...] = (0, 1, 2, 3, 4)) -> PhoneState:
    """Make a phone with `days` days of history ending at `now`, written to phone_dir (phone.json + fs/)."""
    from .core import PhoneCore  # the core applies events; it imports this module too

    if days < 0 or days > 366:
        raise GenerateError("days must be between 0 and 366")
    if customers < 1:
        raise GenerateError("customers must be at least 1")
    now = now or datetime.now(ZoneInfo("Asia/Shanghai")).replace(second=0, microsecond=0)
    if now.tzinfo is None:
        raise GenerateError("now must be timezone-aware")
    tz = ZoneInfo("Asia/Shanghai")
    first = (now.astimezone(tz) - timedelta(days=days)).date()
    start_ms = int(datetime.combine(first, time(0), tz).timestamp() * 1000)
    state = new_phone_state(seed=seed, oem=oem, start_ms=start_ms, customers=customers,
                            recording_seconds=recording_seconds, recording_format=recording_format,
                            recordings_enabled=recordings_enabled, workdays=workdays)
    phone_dir.mkdir(parents=True, exist_ok=True)
    (phone_dir / FS_DIR).mkdir(exist_ok=True)
    save_state(state, phone_dir / STATE_FILE)
    core = PhoneCore(phone_dir)
    core.advance_to(int(now.timestamp() * 1000))
    core.save()
    return core.state
