"""Day route planning for reps: VRP with time windows on OR-Tools or VROOM.

Use :func:`plan_routes` with :class:`PlanRep` and :class:`PlanCustomer`; travel times
come from a :class:`MatrixProvider` (straight line × detour by default, or
:class:`lbs.osrm.OsrmTableMatrix`). :func:`check_plan` verifies a plan independently.
"""

from lbs.routing.matrix import MatrixProvider, StraightLineMatrix, TravelMatrix
from lbs.routing.model import (
    PlanCustomer,
    PlannedVisit,
    PlanRep,
    RepRoute,
    RoutePlan,
    TimeWindow,
    Unassigned,
    UnassignedReason,
)
from lbs.routing.planner import SolverName, check_plan, plan_routes, solve_instance

__all__ = [
    "MatrixProvider",
    "PlanCustomer",
    "PlanRep",
    "PlannedVisit",
    "RepRoute",
    "RoutePlan",
    "SolverName",
    "StraightLineMatrix",
    "TimeWindow",
    "TravelMatrix",
    "Unassigned",
    "UnassignedReason",
    "check_plan",
    "plan_routes",
    "solve_instance",
]
