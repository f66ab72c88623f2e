"""Imports every module's tables, so `Base.metadata` is complete for Alembic and tests."""

from backoffice.accounts import models as account_models
from backoffice.auth import models as auth_models
from backoffice.employees import models as employee_models
from backoffice.files import models as file_models
from backoffice.idempotency import models as idempotency_models
from backoffice.items import models as item_models
from backoffice.mail import models as mail_models
from backoffice.models import Base
from backoffice.notifications import models as notification_models
from backoffice.users import models as user_models

__all__ = [
    "Base",
    "account_models",
    "auth_models",
    "employee_models",
    "file_models",
    "idempotency_models",
    "item_models",
    "mail_models",
    "notification_models",
    "user_models",
]
