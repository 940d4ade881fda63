"""Tags of an account's models (TagResource, UntagResource, ListTagsForResource): key -> value."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa

from drmodels.errors import InvalidRequest
from drmodels.registry.tables import Model, ModelTag
from drmodels.service.models import ModelService

MAX_TAGS = 50
"""Tags one model may carry (as AWS resources)."""


class TagService:
    """One account's model tags; a model of another account is not found, as with every operation."""

    def __init__(self, models: ModelService) -> None:
        self.models = models

    def _model_id(self, arn: str) -> str:
        return self.models.by_arn(arn).id

    def tag(self, arn: str, tags: Mapping[str, str]) -> None:
        """Add or replace the given tags; the model's other tags stay."""
        model_id = self._model_id(arn)
        with self.models.deps.registry.session() as s:
            s.get_one(Model, model_id, with_for_update=True)  # one writer of a model's tags at a time
            current = {t.key: t for t in s.scalars(sa.select(ModelTag).where(ModelTag.model_id == model_id))}
            total = len(current.keys() | tags.keys())
            if total > MAX_TAGS:
                raise InvalidRequest(
                    "Tags", f"a model carries at most {MAX_TAGS} tags; this request would give it {total}"
                )
            for key, value in tags.items():
                if key in current:
                    current[key].value = value
                else:
                    s.add(ModelTag(model_id=model_id, key=key, value=value))

    def untag(self, arn: str, keys: Sequence[str]) -> None:
        """Remove the given keys; keys the model does not carry are ignored."""
        model_id = self._model_id(arn)
        with self.models.deps.registry.session() as s:
            s.execute(sa.delete(ModelTag).where(ModelTag.model_id == model_id, ModelTag.key.in_(list(keys))))

    def list(self, arn: str) -> dict[str, str]:
        model_id = self._model_id(arn)
        with self.models.deps.registry.session() as s:
            rows = s.execute(
                sa.select(ModelTag.key, ModelTag.value)
                .where(ModelTag.model_id == model_id)
                .order_by(ModelTag.key)
            )
            return {key: value for key, value in rows}
