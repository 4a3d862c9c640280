"""RunPlan validation and argument parsing helpers."""

from __future__ import annotations

import pytest

from infbench.engines.registry import engine_info
from infbench.errors import ConfigError
from infbench.plan.spec import (
    BackendSpec,
    RunPlan,
    WorkloadSpec,
    parse_backend_arg,
    unique_labels,
    variant_labels,
)

ONE = (BackendSpec("null", "null"),)


def test_plan_round_trips_through_dict():
    plan = RunPlan(
        model="bert-tiny",
        backends=(BackendSpec("onnxruntime", "onnxruntime", {"threads": 1}),) + ONE,
        workload=WorkloadSpec(batch=2, seq=64, seq_dist="uniform:8-64"),
        duration_s=3,
    )
    again = RunPlan.from_dict(plan.to_dict())
    assert again == plan
    assert again.labels == ["onnxruntime", "null"]
    assert again.backends[1].roles == ("control",) and again.backends[1].is_control


def test_roles_and_twins_round_trip_and_legacy_plans_get_them():
    twin = BackendSpec("onnxruntime", "ort#aa", {}, roles=("aa-twin",), twin_of="ort")
    plan = RunPlan(backends=(BackendSpec("onnxruntime", "ort"), twin, *ONE))
    again = RunPlan.from_dict(plan.to_dict())
    assert again.backends[1].twin_of == "ort" and again.backends[1].roles == ("aa-twin",)
    legacy = plan.to_dict()
    for b in legacy["backends"]:
        del b["roles"], b["twin_of"]
    legacy["backends"][1]["label"] = "ort#aa"
    old = RunPlan.from_dict(legacy)
    assert [(b.roles, b.twin_of) for b in old.backends] == [
        ((), None),
        (("aa-twin",), "ort"),
        (("control",), None),
    ]


@pytest.mark.parametrize(
    "changes, word",
    [
        ({"duration_s": 0}, "--duration"),
        ({"duration_s": -1}, "--duration"),
        ({"iterations": 0}, "--iterations"),
        ({"schedule": "random"}, "--schedule"),
        ({"workload": WorkloadSpec(batch=0)}, "--batch"),
        ({"workload": WorkloadSpec(seq=0)}, "--seq"),
        ({"workload": WorkloadSpec(seq_dist="zipf")}, "--seq-dist"),
        ({"backends": ()}, "--backend"),
        ({"timeout_s": 0}, "--timeout"),
        ({"warmup_iterations": -1}, "--warmup"),
    ],
)
def test_bad_plans_name_the_flag(changes, word):
    kwargs = {"backends": ONE, **changes}
    with pytest.raises(ConfigError, match=word):
        RunPlan(**kwargs)


def test_backend_arg_parsing():
    assert parse_backend_arg("ort") == ("ort", {})
    # the split keeps values as text; the engine's schema types them (and refuses what it does not know)
    assert parse_backend_arg("ov:hint=throughput,streams=2,x=0.5") == (
        "ov",
        {"hint": "throughput", "streams": "2", "x": "0.5"},
    )
    schema = engine_info("ov").options
    assert schema.validate("openvino", {"hint": "throughput", "streams": "2"}) == {
        "hint": "throughput",
        "streams": 2,
    }
    with pytest.raises(ConfigError, match="unknown option 'x' for openvino: valid are device, hint"):
        schema.validate("openvino", {"x": "0.5"})
    assert parse_backend_arg("ort:Inter-Threads=2") == ("ort", {"inter_threads": "2"})
    with pytest.raises(ConfigError):
        parse_backend_arg("ort:threads")
    with pytest.raises(ConfigError):
        parse_backend_arg(":a=1")
    with pytest.raises(ConfigError, match="option threads is given twice"):
        parse_backend_arg("ort:threads=1,threads=2")
    assert unique_labels(["ort", "ov", "ort", "ort"]) == ["ort", "ov", "ort#2", "ort#3"]


def test_variants_of_a_backend_are_labelled_by_the_options_that_differ():
    assert variant_labels([("onnxruntime", {}), ("onnxruntime", {"threads": 1})]) == [
        "onnxruntime",
        "onnxruntime[threads=1]",
    ]
    # options every variant shares are left out; only the differing ones name the row
    assert variant_labels(
        [
            ("openvino", {"device": "CPU", "hint": "latency"}),
            ("openvino", {"device": "CPU", "hint": "throughput", "streams": 2}),
            ("onnxruntime", {"threads": 4}),
        ]
    ) == ["openvino[hint=latency]", "openvino[hint=throughput,streams=2]", "onnxruntime"]
    # identical variants still need telling apart
    assert variant_labels([("null", {}), ("null", {}), ("null", {"keep": "all"})]) == [
        "null",
        "null#2",
        "null[keep=all]",
    ]
