"""Flows as data (keystead.flows.registry): the default equals today's flow; unknown stages,
bad options, duplicates, missing and misordered stages are refused naming the entry."""

from __future__ import annotations

import pytest

from keystead.flows.registry import DEFAULT_FLOW, FlowProblem, build_flow, check_flow, registered
from keystead.flows.stages import SecondFactorStage, default_flow


def _flow(*names: str) -> list[dict]:
    return [{"stage": name} for name in names]


def test_the_default_is_todays_flow():
    assert build_flow(DEFAULT_FLOW) == default_flow()
    assert set(registered()) >= {"second_factor", "enrol_totp", "recovery_codes", "change_password"}


def test_options_are_typed_and_reach_the_stage():
    flow = build_flow([{"stage": "second_factor", "options": {"recovery_codes": False}}])
    assert flow.stages == (SecondFactorStage(allow_recovery_codes=False),)


@pytest.mark.parametrize(
    ("entries", "field", "words"),
    [
        (_flow("second_factor", "captcha"), "1.stage", "unknown stage 'captcha'"),
        (
            [{"stage": "second_factor", "options": {"recovery_codes": "yes"}}],
            "0.options.recovery_codes",
            "bool",
        ),
        ([{"stage": "second_factor", "options": {"colour": 1}}], "0.options.colour", "not permitted"),
        ([{"stage": "enrol_totp", "options": {"x": 1}}], "0.options.x", "not permitted"),
        (_flow("second_factor", "enrol_totp", "second_factor"), "2.stage", "already stage 0"),
        (_flow("second_factor", "recovery_codes"), "1.stage", "needs the 'enrol_totp'"),
        (_flow("second_factor", "recovery_codes", "enrol_totp"), "1.stage", "after 'enrol_totp'"),
        (_flow("change_password", "second_factor"), "0.stage", "after 'second_factor'"),
        (_flow("second_factor", "change_password", "enrol_totp"), "1.stage", "after 'enrol_totp'"),
        (_flow("enrol_totp", "change_password"), "", "'second_factor'"),
        ([], "", "at least"),
        (_flow(*["second_factor"] * 17), "", "at most 16"),
    ],
)
def test_impossible_flows_are_refused_naming_the_entry(entries, field, words):
    with pytest.raises(FlowProblem) as refused:
        check_flow(entries)
    assert refused.value.field == field
    assert words in refused.value.message


def test_optional_stages_may_be_left_out():
    assert [s.name for s in build_flow(_flow("second_factor")).stages] == ["second_factor"]
    enrol_only = build_flow(_flow("second_factor", "enrol_totp", "change_password"))
    assert [s.name for s in enrol_only.stages] == ["second_factor", "enrol_totp", "change_password"]
