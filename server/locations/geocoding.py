"""Geocoding customer addresses through geopy: the provider is configured (FIELDCRM_GEOCODER,
any geopy service name), requests are rate-limited, and every answer (found or not) is
cached. With no provider configured nothing is asked and nothing breaks.

Providers in China answer in GCJ-02 (Gaode, Tencent) or BD-09 (Baidu):
FIELDCRM_GEOCODER_COORD_SYSTEM says which, and results are stored as WGS-84.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from geopy.exc import GeopyError
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import get_geocoder_for_service
from sqlmodel import Session, select

from crm.customers import Customer
from crm.errors import DomainError
from crm.geo import set_position
from crm.locations import GeocodeCache
from lbs.coords import CoordSystem, convert
from server.config import Settings, get_settings
from server.logs import get_logger, log_event

logger = get_logger("locations")

Lookup = Callable[[str], Any]


@dataclass(frozen=True, slots=True)
class Geocoder:
    """A configured provider: ``lookup(address)`` → geopy Location or None."""

    name: str
    lookup: Lookup
    coords: CoordSystem


def _options(cls: type, settings: Settings) -> dict[str, Any]:
    accepted = inspect.signature(cls.__init__).parameters
    wanted: dict[str, Any] = {"user_agent": settings.geocoder_user_agent, "timeout": settings.geocoder_timeout_s,
                              "scheme": settings.geocoder_scheme}
    if settings.geocoder_domain:
        wanted["domain"] = settings.geocoder_domain
    if settings.geocoder_api_key:
        for key in ("api_key", "apikey", "ak", "key"):
            if key in accepted:
                wanted[key] = settings.geocoder_api_key
                break
    return {k: v for k, v in wanted.items() if k in accepted}


def build_geocoder(settings: Settings) -> Geocoder | None:
    """The configured provider, or None when geocoding is off (``none``)."""
    name = settings.geocoder.strip().lower()
    if name in ("", "none"):
        return None
    try:
        cls = get_geocoder_for_service(name)
        coords = CoordSystem(settings.geocoder_coord_system)
    except (GeopyError, ValueError) as exc:
        raise DomainError(f"geocoder misconfigured: {exc}", field="geocoder") from exc
    provider = cls(**_options(cls, settings))
    limited = RateLimiter(provider.geocode, min_delay_seconds=settings.geocoder_min_delay_s, max_retries=1,
                          error_wait_seconds=settings.geocoder_min_delay_s, swallow_exceptions=False)
    key = f"{name}:{settings.geocoder_domain or ''}"
    return Geocoder(key, lambda address: limited(address, exactly_one=True), coords)


def _query_hash(address: str) -> str:
    return hashlib.sha256(" ".join(address.split()).casefold().encode()).hexdigest()


def geocode(session: Session, geocoder: Geocoder, address: str, *, retry_after: timedelta, now: datetime
            ) -> tuple[float, float] | None:
    """WGS-84 position of ``address`` from the cache or the provider (which may raise GeopyError)."""
    digest = _query_hash(address)
    cached = session.exec(select(GeocodeCache).where(
        GeocodeCache.provider == geocoder.name, GeocodeCache.query_hash == digest)).first()
    if cached is not None and (cached.found or now - cached.created_at < retry_after):
        return (cached.lat, cached.lon) if cached.found else None  # type: ignore[return-value]
    place = geocoder.lookup(address)
    position = None if place is None else convert(place.latitude, place.longitude, geocoder.coords, CoordSystem.WGS84)
    row = cached or GeocodeCache(provider=geocoder.name, query_hash=digest, query=address[:300])
    row.lat, row.lon = position if position else (None, None)
    row.found, row.created_at = position is not None, now
    session.add(row)
    return position


def geocode_pending(session: Session, *, settings: Settings, now: datetime, geocoder: Geocoder | None = None) -> int:
    """Geocode up to ``geocoder_batch`` customers that have an address but no coordinates.

    Addresses the provider did not find are skipped until ``geocoder_retry_days`` pass; a
    provider error ends the run (the rest waits for the next one). Returns customers located.
    """
    geocoder = geocoder or build_geocoder(settings)
    if geocoder is None:
        return 0
    retry_after = timedelta(days=settings.geocoder_retry_days)
    recently_missed = select(GeocodeCache.query).where(
        GeocodeCache.provider == geocoder.name, GeocodeCache.found.is_(False),
        GeocodeCache.created_at > now - retry_after,
    )
    pending = session.exec(
        select(Customer).where(
            Customer.lat.is_(None), Customer.address != "", Customer.merged_into_id.is_(None),
            Customer.address.not_in(recently_missed),
        ).order_by(Customer.id).limit(settings.geocoder_batch)
    ).all()
    located = 0
    for customer in pending:
        try:
            position = geocode(session, geocoder, customer.address, retry_after=retry_after, now=now)
        except GeopyError as exc:
            log_event(logger, "geocode.provider_error", logging.WARNING, customer_id=customer.id, error=repr(exc))
            break
        if position is not None:
            set_position(customer, *position)
            customer.updated_at = now
            session.add(customer)
            located += 1
        session.commit()
    log_event(logger, "geocode.run", pending=len(pending), located=located)
    return located


def geocode_customers(session: Session, now: datetime) -> int:
    """Scheduled job: geocode customers without coordinates (no-op without a provider)."""
    return geocode_pending(session, settings=get_settings(), now=now)
