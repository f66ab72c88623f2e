"""FastAPI dependencies of the items module."""

from typing import Annotated

from fastapi import Depends, Path, Query, Request

from backoffice.db import SessionDep, database_of
from backoffice.items.schemas import ItemQuery
from backoffice.items.service import ItemReads, ItemService
from backoffice.notifications.dependencies import OutboxDep
from backoffice.schemas import DbId


async def get_item_service(session: SessionDep, outbox: OutboxDep) -> ItemService:
    return ItemService(session, outbox)


ItemServiceDep = Annotated[ItemService, Depends(get_item_service)]


async def get_item_reads(request: Request) -> ItemReads:
    """For GETs: no files service, outbox or delivery, which reads never use, and the
    session opened by the read itself (`Database.read`)."""
    return ItemReads(database_of(request))


ItemReadsDep = Annotated[ItemReads, Depends(get_item_reads)]
ItemQueryDep = Annotated[ItemQuery, Query()]
ItemId = Annotated[DbId, Path(description="Item id")]
