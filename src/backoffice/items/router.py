"""HTTP of the items module."""

from typing import Annotated

from fastapi import APIRouter, Header, Response, status

from backoffice.auth.dependencies import CallerCheckDep, CurrentUser
from backoffice.errors import error_responses as errors
from backoffice.files import responses as downloads
from backoffice.idempotency.route import IdempotentRoute
from backoffice.items.dependencies import ItemId, ItemQueryDep, ItemReadsDep, ItemServiceDep
from backoffice.items.repository import ItemRow
from backoffice.items.schemas import ItemCreate, ItemRead, ItemUpdate
from backoffice.items.service import ItemHasNoImage, ItemNameTaken, ItemNotFound
from backoffice.pagination import Page

router = APIRouter(prefix="/items", tags=["items"], route_class=IdempotentRoute)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ItemRead,
    operation_id="items-create",
    summary="Add an item to the catalogue; names are unique ignoring case",
    responses=errors(401, ItemNameTaken, 422),
)
async def create_item(body: ItemCreate, user: CurrentUser, items: ItemServiceDep) -> ItemRow:
    return await items.create(user, body)


@router.get(
    "",
    response_model=Page[ItemRead],
    operation_id="items-list",
    summary="Search, filter, sort and page the catalogue",
    responses=errors(401, 422),
)
async def list_items(
    query: ItemQueryDep, caller: CallerCheckDep, items: ItemReadsDep
) -> Page[ItemRead]:
    rows, total = await items.list(caller, query)
    return Page[ItemRead].of(rows, total, query.page)


@router.get(
    "/{item_id}",
    response_model=ItemRead,
    operation_id="items-get",
    summary="One item",
    responses=errors(401, ItemNotFound, 422),
)
async def get_item(item_id: ItemId, caller: CallerCheckDep, items: ItemReadsDep) -> ItemRow:
    return await items.get(caller, item_id)


@router.patch(
    "/{item_id}",
    response_model=ItemRead,
    operation_id="items-update",
    summary="Change some fields of an item (owner or admin)",
    responses=errors(401, ItemNotFound, ItemNameTaken, 422),
)
async def update_item(
    item_id: ItemId, body: ItemUpdate, user: CurrentUser, items: ItemServiceDep
) -> ItemRow:
    return await items.update(user, item_id, body)


@router.put(
    "/{item_id}",
    response_model=ItemRead,
    operation_id="items-replace",
    summary="Replace an item; optional fields left out become null (owner or admin)",
    responses=errors(401, ItemNotFound, ItemNameTaken, 422),
)
async def replace_item(
    item_id: ItemId, body: ItemCreate, user: CurrentUser, items: ItemServiceDep
) -> ItemRow:
    return await items.update(user, item_id, body)


@router.delete(
    "/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    operation_id="items-delete",
    summary="Delete an item (owner or admin); its image file stays",
    responses=errors(401, ItemNotFound, 422),
)
async def delete_item(item_id: ItemId, user: CurrentUser, items: ItemServiceDep) -> Response:
    await items.delete(user, item_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{item_id}/image",
    response_class=Response,
    operation_id="items-image",
    summary="The item's image file, for anyone who may read the item",
    responses={**downloads.DOWNLOAD_RESPONSES, **errors(401, ItemNotFound, ItemHasNoImage, 422)},
)
async def get_item_image(
    item_id: ItemId,
    caller: CallerCheckDep,
    items: ItemReadsDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    meta = await items.image(caller, item_id)
    return await downloads.conditional_download(meta, if_none_match, lambda: items.image_data(meta))
