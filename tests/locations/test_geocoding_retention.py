"""Geocoding against a Nominatim-speaking HTTP server on loopback (no internet), with no provider
configured, and retention of raw fixes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import Session, select

from crm.customers import Customer
from crm.geo import geocell
from crm.locations import GeocodeCache, LocationDiscard, LocationFix
from lbs.coords import gcj02_to_wgs84
from server.config import Settings
from server.jobs import JOBS
from server.locations.geocoding import build_geocoder, geocode_pending
from server.locations.retention import purge_fixes
from tests.factories import Factory
from tests.locations.conftest import World

PLACES = {"上海市黄浦区南京东路100号": (31.2397, 121.4846), "北京市朝阳区建国路88号": (39.9087, 116.4605)}


class FakeNominatim(BaseHTTPRequestHandler):
    """Answers /search like nominatim.openstreetmap.org (format=json)."""

    queries: list[str] = []
    fail = False

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query).get("q", [""])[0]
        type(self).queries.append(query)
        if url.path != "/search" or type(self).fail:
            self.send_response(503)
            self.end_headers()
            return
        found = PLACES.get(query)
        body = [] if found is None else [{
            "place_id": 1, "licence": "Data © OpenStreetMap contributors", "osm_type": "way", "osm_id": 2,
            "lat": str(found[0]), "lon": str(found[1]), "display_name": query, "class": "building",
            "type": "yes", "importance": 0.5, "boundingbox": ["0", "1", "0", "1"],
        }]
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def nominatim(settings: Settings) -> Iterator[type[FakeNominatim]]:
    FakeNominatim.queries, FakeNominatim.fail = [], False
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeNominatim)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.geocoder, settings.geocoder_scheme = "nominatim", "http"
    settings.geocoder_domain = f"127.0.0.1:{server.server_address[1]}"
    settings.geocoder_min_delay_s = 0.0
    yield FakeNominatim
    server.shutdown()
    thread.join()


def _customer(session: Session, world: World, address: str) -> Customer:
    row = Customer(division_id=world.division.id, name=address[:6], address=address)
    session.add(row)
    session.commit()
    return row


NOW = datetime(2025, 3, 4, 2, 0, tzinfo=UTC)


def test_addresses_are_geocoded_cached_and_misses_retried_later(
    session: Session, world: World, settings: Settings, nominatim: type[FakeNominatim]
):
    found = _customer(session, world, "上海市黄浦区南京东路100号")
    twin = _customer(session, world, "上海市黄浦区南京东路100号")
    missing = _customer(session, world, "不存在的地址")
    assert geocode_pending(session, settings=settings, now=NOW) == 2
    session.refresh(found)
    assert (found.lat, found.lon) == PLACES[found.address]
    assert found.geocell == geocell(found.lat, found.lon)
    assert session.get(Customer, twin.id).lat == found.lat
    assert sorted(nominatim.queries) == sorted({found.address, missing.address})  # the twin came from the cache
    assert geocode_pending(session, settings=settings, now=NOW + timedelta(days=1)) == 0
    assert len(nominatim.queries) == 2  # the miss is not asked again soon
    geocode_pending(session, settings=settings, now=NOW + timedelta(days=settings.geocoder_retry_days + 1))
    assert nominatim.queries.count(missing.address) == 2
    assert session.get(Customer, missing.id).lat is None


def test_gcj02_provider_results_are_stored_as_wgs84(
    session: Session, world: World, settings: Settings, nominatim: type[FakeNominatim]
):
    settings.geocoder_coord_system = "gcj02"
    row = _customer(session, world, "北京市朝阳区建国路88号")
    geocode_pending(session, settings=settings, now=NOW)
    session.refresh(row)
    assert (row.lat, row.lon) == pytest.approx(gcj02_to_wgs84(*PLACES[row.address]))


def test_a_provider_failure_leaves_customers_for_the_next_run(
    session: Session, world: World, settings: Settings, nominatim: type[FakeNominatim]
):
    row = _customer(session, world, "上海市黄浦区南京东路100号")
    nominatim.fail = True
    assert geocode_pending(session, settings=settings, now=NOW) == 0
    assert session.exec(select(GeocodeCache)).all() == []
    nominatim.fail = False
    assert geocode_pending(session, settings=settings, now=NOW) == 1
    session.refresh(row)
    assert row.lat is not None


def test_nothing_breaks_without_a_geocoder(session: Session, world: World, settings: Settings):
    _customer(session, world, "上海市黄浦区南京东路100号")
    assert settings.geocoder == "none" and build_geocoder(settings) is None
    assert geocode_pending(session, settings=settings, now=NOW) == 0
    assert {job.name for job in JOBS} >= {"locations.geocode_customers", "locations.purge_old_fixes"}
    job = next(job for job in JOBS if job.name == "locations.geocode_customers")
    assert job.func(session, NOW) == 0  # the environment configures no provider


def test_retention_deletes_only_old_fixes(session: Session, world: World, factory: Factory, settings: Settings):
    settings.location_retention_days = 30
    now = datetime(2025, 6, 1, tzinfo=UTC)
    for days in (40, 31, 29, 1):
        session.add(LocationFix(device_id=world.device.id, division_id=world.division.id, rep_user_id=world.rep.id,
                                time=now - timedelta(days=days), lat=31.2, lon=121.4, source="owntracks",
                                status="ok", received_at=now))
    session.add(LocationDiscard(device_id=world.device.id, division_id=world.division.id, day=(now - timedelta(days=45)).date(),
                                reason="outside_hours", count=3))
    session.commit()
    assert purge_fixes(session, settings=settings, now=now) == 2
    left = sorted((now - f.time).days for f in session.exec(select(LocationFix)))
    assert left == [1, 29]
    assert session.exec(select(LocationDiscard)).all() == []
