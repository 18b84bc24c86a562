"""Imports every domain's tables so `metadata` is complete (for migrations and tests)."""

from livepledge.accounts import models as accounts_models  # noqa: F401
from livepledge.aftersales import models as aftersales_models  # noqa: F401
from livepledge.catalog import models as catalog_models  # noqa: F401
from livepledge.coupons import models as coupons_models  # noqa: F401
from livepledge.fans import models as fans_models  # noqa: F401
from livepledge.infra import models as infra_models  # noqa: F401
from livepledge.infra.db import metadata
from livepledge.live import models as live_models  # noqa: F401
from livepledge.lottery import models as lottery_models  # noqa: F401
from livepledge.notices import models as notices_models  # noqa: F401
from livepledge.orders import models as orders_models  # noqa: F401
from livepledge.promises import models as promises_models  # noqa: F401
from livepledge.record import models as record_models  # noqa: F401
from livepledge.reservations import models as reservations_models  # noqa: F401
from livepledge.settlement import models as settlement_models  # noqa: F401
from livepledge.webhooks import models as webhooks_models  # noqa: F401

__all__ = ["metadata"]
