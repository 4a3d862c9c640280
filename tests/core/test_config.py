"""RunPlan validation and argument parsing helpers."""

from __future__ import annotations

import pytest

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
    assert parse_backend_arg("ov:hint=throughput,streams=2,x=0.5") == (
        "ov",
        {"hint": "throughput", "streams": 2, "x": 0.5},
    )
    with pytest.raises(ConfigError):
        parse_backend_arg("ort:threads")
    with pytest.raises(ConfigError):
        parse_backend_arg(":a=1")
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
