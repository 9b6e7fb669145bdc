"""HTTP endpoints of API.md; thin layers over the services. ROUTERS is the one list to mount."""

from oktapi.routers import (
    app,
    audit,
    auth,
    campaigns,
    clients,
    forecast,
    health,
    history,
    plan_changes,
    plans,
    policies,
    users,
)

ROUTERS = [
    health.router,
    auth.router,
    users.router,
    clients.router,
    campaigns.router,
    audit.router,
    plans.router,
    plan_changes.router,
    policies.router,
    forecast.router,
    history.router,
    app.router,
]
