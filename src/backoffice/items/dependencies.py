"""FastAPI dependencies of the items module."""

from typing import Annotated

from fastapi import Depends, Path, Query

from backoffice.db import SessionDep
from backoffice.files.dependencies import FileServiceDep
from backoffice.items.schemas import ItemQuery
from backoffice.items.service import ItemReads, ItemService
from backoffice.notifications.dependencies import OutboxDep
from backoffice.schemas import DbId


async def get_item_service(
    session: SessionDep, files: FileServiceDep, outbox: OutboxDep
) -> ItemService:
    return ItemService(session, files, outbox)


ItemServiceDep = Annotated[ItemService, Depends(get_item_service)]


async def get_item_reads(session: SessionDep) -> ItemReads:
    """For GETs: no files service, outbox or delivery, which reads never use."""
    return ItemReads(session)


ItemReadsDep = Annotated[ItemReads, Depends(get_item_reads)]
ItemQueryDep = Annotated[ItemQuery, Query()]
ItemId = Annotated[DbId, Path(description="Item id")]
