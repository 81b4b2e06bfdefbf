"""The page's server: a JSON API over the play room and the run catalogue, and the page.

The page itself is three static files (no build step); every dynamic text reaches it as
JSON and is put in the document as text, never as markup, and the content security policy
forbids inline scripts, so nothing in a transcript or a case can run in the browser.
Model configs stay on the server: the page sees only the labels of the offered agents.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from clinic_env.errors import ClinicEnvError, UnknownNameError, UserError
from clinic_env.llm.client import ModelClient
from clinic_env.schema.base import valid_text
from clinic_env.web.play import PlayRequest, PlayRoom, RoleChoices
from clinic_env.web.shelf import DatasetShelf

try:
    from fastapi import FastAPI, Query, Request
    from fastapi.responses import FileResponse, JSONResponse, Response
    from fastapi.staticfiles import StaticFiles
    from pydantic import BaseModel, field_validator
    from starlette.middleware.trustedhost import TrustedHostMiddleware
except ImportError as exc:  # pragma: no cover - depends on the extra
    raise ImportError('the web page needs FastAPI: pip install "clinic-env[web]"') from exc

from clinic_env.web.catalogue import play_options
from clinic_env.web.detail import consultation_detail
from clinic_env.web.images import image_bytes
from clinic_env.web.runs import RunCatalog

STATIC = files("clinic_env.web") / "static"
PAGING_PARAMETERS = frozenset({"run", "offset", "limit"})
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
INDEX_WAIT_S = 0.5
"""How long a request waits for a run's indexing before answering with the rows so far."""


@dataclass
class WebSettings:
    """What ``clinic-env web`` serves: where runs are, where plays go, who may play."""

    runs: Path = Path("runs")
    play_out: Path = Path("runs/web-play")
    choices: RoleChoices = field(
        default_factory=lambda: {
            "patient": {"offline": "offline"},
            "measurement": {"offline": "offline"},
            "doctor": {"systematic": "systematic", "random": "random"},
        }
    )
    datasets: tuple[str, ...] = ()
    """Local dataset paths offered besides the registered ones at hand (the only paths the
    page reads, with files under ``runs`` for the Runs view: see :mod:`.shelf`)."""
    client: ModelClient | None = None
    allowed_hosts: tuple[str, ...] = ()
    """Host names the page answers to (none: any); ``clinic-env web`` sets loopback's."""


def filters_of(request: Request) -> dict[str, str]:
    """The query's filter fields (anything but the run and paging; unknown ones are errors)."""
    return {k: v for k, v in request.query_params.items() if k not in PAGING_PARAMETERS}


class Message(BaseModel):
    text: str

    @field_validator("text")
    @classmethod
    def _valid(cls, text: str) -> str:
        return valid_text(text)  # a lone surrogate could not be saved with the transcript


def create_app(settings: WebSettings | None = None) -> FastAPI:
    settings = settings or WebSettings()
    shelf = DatasetShelf(settings.datasets, settings.runs)
    room = PlayRoom(settings.play_out, settings.choices, shelf, client=settings.client)
    catalogue = RunCatalog(settings.runs)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        room.close()

    app = FastAPI(
        title="clinic-env", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    if settings.allowed_hosts:  # a page on another site cannot rebind its name to this one
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.exception_handler(ClinicEnvError)
    async def clinic_env_error(request: Request, exc: ClinicEnvError) -> JSONResponse:
        status = 404 if isinstance(exc, UnknownNameError) else 400
        status = status if isinstance(exc, UserError) else 500
        return JSONResponse({"error": valid_text(str(exc))}, status_code=status)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"))

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/api/options")
    def options() -> dict[str, Any]:
        return play_options(settings.choices, shelf)

    @app.get("/api/cases")
    def cases(dataset: str = "starter") -> list[dict[str, str]]:
        """Ids only: any field a play shows (the patient's description) would let a player
        find which case a random one is, and with it the answer in the Runs view."""
        return [{"id": c.id} for c in room.cases(dataset)]

    @app.post("/api/play")
    async def start(request: PlayRequest) -> dict[str, Any]:
        return await room.start(request)

    @app.post("/api/play/{play_id}/message")
    async def message(play_id: str, body: Message) -> dict[str, Any]:
        return await room.say(play_id, body.text)

    @app.get("/api/play/{play_id}/next")
    async def next_question(play_id: str) -> dict[str, Any]:
        return await room.poll(play_id)

    @app.get("/api/play/{play_id}/result")
    async def result(play_id: str) -> dict[str, Any]:
        return await room.result(play_id)

    @app.post("/api/play/{play_id}/abandon")
    async def abandon(play_id: str) -> dict[str, Any]:
        return room.abandon(play_id)

    @app.get("/api/play/{play_id}/images/{number}")
    async def image(play_id: str, number: int) -> Response:
        """The room is the event loop's alone; the picture is read in a worker thread."""
        location = room.image(play_id, number).location
        data, kind = await asyncio.to_thread(image_bytes, location)
        return Response(data, media_type=kind)

    @app.get("/api/runs")
    def runs() -> list[dict[str, Any]]:
        return [run.describe() for run in catalogue.folders()]

    @app.get("/api/runs/facets")
    def facets(request: Request, run: str) -> dict[str, Any]:
        index = catalogue.index(run)
        return {
            "facets": index.facet_counts(filters_of(request), INDEX_WAIT_S),
            "problems": index.problems[:20],
            "indexing": index.progress(),
        }

    @app.get("/api/runs/rows")
    def rows(
        request: Request,
        run: str,
        offset: int = Query(0, ge=0),
        limit: int = Query(50, ge=1, le=500),
    ) -> dict[str, Any]:
        return catalogue.index(run).page(filters_of(request), offset, limit, INDEX_WAIT_S)

    @app.get("/api/runs/consultation")
    def consultation(run: str, index: int) -> dict[str, Any]:
        return consultation_detail(catalogue.index(run).record(index), index, shelf.case)

    @app.get("/api/runs/report")
    def report(run: str) -> dict[str, Any]:
        return {"images": catalogue.report_images(run)}

    @app.get("/api/runs/report/image")
    def report_image(run: str, name: str) -> FileResponse:
        return FileResponse(catalogue.report_image(run, name), media_type="image/png")

    return app
