"""A simulated Android phone speaking the device side of adb (see docs/simulator.md).

Public API:
    generate_phone, generate_fleet  -- make phones (phone.json + fs/) from a seed
    SimulatedPhone                  -- serve one phone on a TCP port for `adb connect`
    PhoneFleet                      -- serve every phone of a state folder
    make_apk                        -- an APK the simulated `pm install` accepts
    OwnTracksApp                    -- the tracker app each SimulatedPhone runs (`phone.tracker`)
"""

from .apk import make_apk
from .core import AdvanceReport, PhoneCore
from .faults import Faults
from .fleet import FleetError, PhoneFleet, generate_fleet
from .generate import GenerateError, generate_phone
from .owntracks import OwnTracksApp
from .phone import SimulatedPhone
from .state import PhoneState, StateError, load_state

__all__ = [
    "AdvanceReport", "Faults", "FleetError", "GenerateError", "OwnTracksApp", "PhoneCore", "PhoneFleet", "PhoneState",
    "SimulatedPhone", "StateError", "generate_fleet", "generate_phone", "load_state", "make_apk",
]
