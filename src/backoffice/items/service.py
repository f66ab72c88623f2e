"""Rules of the catalogue: unique names, who may change what, and item images.

- Any signed-in user reads the catalogue; only the owner or an admin changes or
  deletes an item, and anyone else gets 404, as if it did not exist.
- Names are unique ignoring case. The unique index on `lower(name)` decides, so two
  racing creates give one 201 and one 409 (never a 500, never two rows).
- A change locks the row first (`SELECT ... FOR UPDATE`): concurrent edits queue and
  each applies to what the previous one committed, and an item deleted meanwhile is
  a 404 rather than a failed UPDATE.
- `image_file_id` must name a file that the item's *owner* uploaded (also when an admin
  edits someone else's item), asked of the files module (`FileReads`); otherwise 422. A file
  deleted later simply leaves the item without an image (`ON DELETE SET NULL`).
"""

from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.db import Database
from backoffice.errors import Conflict, InvalidInput, NotFound
from backoffice.files.repository import FileRow
from backoffice.files.service import FileReads
from backoffice.items.repository import ItemRepository, ItemRow
from backoffice.items.schemas import ItemCreate, ItemQuery, ItemUpdate
from backoffice.notifications.outbox import Outbox
from backoffice.principal import Principal
from backoffice.sql import CallerCheck, ConstraintErrors, changes_of, integrity_errors


class ItemNotFound(NotFound):
    code = "item_not_found"
    message = "Item not found"


class ItemNameTaken(Conflict):
    code = "item_exists"
    message = "Item already exists"


class ItemHasNoImage(NotFound):
    code = "item_image_not_found"
    message = "Item has no image"


class ImageNotOwned(InvalidInput):
    def __init__(self) -> None:
        super().__init__(
            ["body", "image_file_id"], "image_file_id must be a file uploaded by the item's owner"
        )


CONSTRAINT_ERRORS: ConstraintErrors = {
    "uq_items_lower_name": ItemNameTaken,
    # The file was deleted between the ownership check and the write.
    "fk_items_image_file_id_files": ImageNotOwned,
}


class ItemReads:
    """The catalogue's reads, each in a read session of its own (`Database.read`): a GET
    builds nothing else."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(self, check: CallerCheck, query: ItemQuery) -> tuple[list[ItemRow], int]:
        """The caller check and the page in one statement, as `get` below."""
        owner_id = check.user_id if query.owner == "me" else None
        async with self.db.read() as session:
            return await ItemRepository(session).search(check, query, owner_id)

    async def get(self, check: CallerCheck, item_id: int) -> ItemRow:
        """The caller check and the item in one statement (`sql.fetch_checked`)."""
        async with self.db.read() as session:
            row = await ItemRepository(session).read(check, item_id)
        if row is None:
            raise ItemNotFound()
        return row

    async def image(self, check: CallerCheck, item_id: int) -> FileRow:
        """The metadata of an item's image: whoever may read the item may read it."""
        item = await self.get(check, item_id)
        if item.image_file_id is None:
            raise ItemHasNoImage()
        async with self.db.read() as session:
            return await FileReads(session).image_meta(item.image_file_id)

    async def image_data(self, meta: FileRow) -> bytes:
        async with self.db.read() as session:
            return await FileReads(session).data_of(meta)


class ItemService:
    def __init__(self, session: AsyncSession, outbox: Outbox) -> None:
        self.session = session
        self.outbox = outbox
        self.repo = ItemRepository(session)

    async def create(self, owner: Principal, data: ItemCreate) -> ItemRow:
        await self._check_image(data.image_file_id, owner.id)
        async with integrity_errors(self.session, CONSTRAINT_ERRORS):
            item = await self.repo.add(owner.id, data)
            await self.outbox.notify(
                owner.id,
                "item_created",
                f"Item '{item.name}' was created",
                data={"item_id": item.id},
            )
            await self.session.commit()
        return item

    async def update(
        self, caller: Principal, item_id: int, data: ItemUpdate | ItemCreate
    ) -> ItemRow:
        """PATCH sends an `ItemUpdate` (the fields given), PUT an `ItemCreate` (all of them)."""
        item = await self._writable(caller, item_id)
        image_file_id = changes_of(data).get("image_file_id")
        if image_file_id is not None:
            await self._check_image(image_file_id, item.owner_id)
        async with integrity_errors(self.session, CONSTRAINT_ERRORS):
            updated = await self.repo.update(item_id, data)
            if updated is None:  # pragma: no cover - locked by `_writable` above
                raise ItemNotFound()
            await self.session.commit()
        return updated

    async def delete(self, caller: Principal, item_id: int) -> None:
        await self._writable(caller, item_id)
        await self.repo.delete(item_id)
        await self.session.commit()

    async def _writable(self, caller: Principal, item_id: int) -> ItemRow:
        """The item, locked for this transaction, if the caller may change it."""
        item = await self.repo.lock(item_id)
        if item is None or not (caller.is_admin or item.owner_id == caller.id):
            raise ItemNotFound()
        return item

    async def _check_image(self, file_id: int | None, owner_id: int) -> None:
        if file_id is not None and not await FileReads(self.session).is_owned_by(file_id, owner_id):
            raise ImageNotOwned()
