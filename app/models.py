"""Every model module, imported once so the metadata is complete (migrations, tests)."""

from __future__ import annotations

from conversations import models as conversations_models
from core import audit
from core.auth import models as auth_models
from core.database import Base
from handoff import models as handoff_models
from integrations import models as integrations_models
from knowledge_base import models as knowledge_base_models
from reporting import facts as reporting_facts
from reporting import models as reporting_models
from training import models as training_models

MODEL_MODULES = (auth_models, audit, conversations_models, handoff_models,
                 knowledge_base_models, integrations_models, training_models,
                 reporting_facts, reporting_models)
metadata = Base.metadata
