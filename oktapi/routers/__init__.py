"""HTTP endpoints of API.md; thin layers over the services. ROUTERS is the one list to mount."""

from oktapi.routers import audit, health

ROUTERS = [health.router, audit.router]
