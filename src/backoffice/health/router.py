"""Liveness, readiness, metrics and the service's front door; mounted outside `/api/v1`.

Load balancers and orchestrators probe these paths without a version prefix.
"""

from importlib.metadata import version

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from backoffice.errors import DB_RETRY_AFTER_SECONDS
from backoffice.health.schemas import Health, ServiceInfo
from backoffice.health.service import Readiness
from backoffice.metrics import exposition

router = APIRouter(tags=["operations"])

SERVICE_INFO = ServiceInfo(
    name="backoffice", version=version("backoffice"), docs="/docs", redoc="/redoc"
)


@router.get(
    "/", response_model=ServiceInfo, operation_id="service-info", summary="Name, version, docs"
)
async def service_info() -> ServiceInfo:
    return SERVICE_INFO


@router.get(
    "/metrics",
    response_class=Response,
    operation_id="metrics",
    summary="Prometheus metrics of this replica",
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(request: Request) -> Response:
    body, content_type = await exposition(request.app.state.engine)
    return Response(body, media_type=content_type)


@router.get(
    "/health/live",
    response_model=Health,
    operation_id="health-live",
    summary="The process runs",
)
async def live() -> Health:
    return Health(status="ok")


@router.get(
    "/health/ready",
    response_model=Health,
    operation_id="health-ready",
    summary="The database answers and the process is not draining",
    responses={503: {"model": Health, "description": "Not ready; see Retry-After"}},
)
async def ready(request: Request) -> Health | JSONResponse:
    if request.app.state.draining:
        return _not_ready("draining")
    readiness: Readiness = request.app.state.readiness
    if not await readiness.database_answers():
        return _not_ready("unavailable")
    return Health(status="ok")


def _not_ready(reason: str) -> JSONResponse:
    return JSONResponse(
        {"status": reason}, status_code=503, headers={"Retry-After": str(DB_RETRY_AFTER_SECONDS)}
    )
