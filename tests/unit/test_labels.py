"""Every event type has a Chinese and an English name; times read in China time."""

from datetime import UTC, datetime
from typing import get_args

from tongxiu.events import labels, models
from tongxiu.projections.workdays import CHINA


def _event_types() -> set[str]:
    union = get_args(models.Event)[0]
    return {get_args(cls.model_fields["type"].annotation)[0] for cls in get_args(union)}


def test_every_event_type_has_a_chinese_and_an_english_name() -> None:
    types = _event_types()
    assert len(types) > 40
    assert types == set(labels.EVENT_TYPE_NAMES)
    for zh, en in labels.EVENT_TYPE_NAMES.values():
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), zh
        assert en.isascii() and en


def test_names_by_language() -> None:
    assert labels.event_type_name("penalty_decided") == "行政处罚决定书"
    assert labels.event_type_name("penalty_decided", "en") == "Penalty decision"
    assert labels.event_type_name("not_a_type") == "not_a_type"


def test_china_time() -> None:
    at = datetime(2026, 12, 1, 16, 30, 5, tzinfo=UTC)
    assert labels.china_time(at) == "2026-12-02 00:30:05"
    assert labels.CHINA == CHINA
