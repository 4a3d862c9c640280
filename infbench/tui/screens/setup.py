"""`SetupScreen`: the run form shown by `infbench-tui` with no arguments, prefilled with the defaults."""

from __future__ import annotations

import argparse
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Select, SelectionList, Static

from infbench.errors import ConfigError, InfbenchError
from infbench.plan.spec import SCHEDULES, RunPlan
from infbench.plan.workload import WORKLOAD_OPTIONS, WorkloadOption
from infbench.tui.fmt import BAD, MUTED
from infbench.tui.widgets.checklist import CheckList

AA_LABEL = "run the first backend twice, to measure this machine's own noise band"
FORM_OPTIONS = tuple(o for o in WORKLOAD_OPTIONS if o.form)  # seq, batch, corpus: declared in plan.workload


def backend_choices() -> list[str]:
    """Every installed backend plus the `null` control."""
    from infbench.engines.registry import installed_backends

    return installed_backends(include_null=True)


def backend_args(selected: list[str], options: str) -> list[str]:
    """The ``--backend`` arguments of the form: each checked backend once, or once per ``NAME:k=v,…`` item
    of `options` that names it (aliases allowed: ``ort:threads=1 ort:threads=4`` runs two variants).

    Raises:
        ConfigError: an item is malformed, names an unknown backend, or one that is not checked.
    """
    from infbench.engines.registry import canonical_backend
    from infbench.plan.spec import parse_backend_arg

    per: dict[str, list[str]] = {}
    for item in options.split():
        name, _ = parse_backend_arg(item)
        canon = canonical_backend(name)
        if canon not in selected:
            raise ConfigError(f"backend options {item!r}: {canon} is not checked in the backends list")
        per.setdefault(canon, []).append(item)
    return [arg for name in selected for arg in (per.get(name) or [name])]


def _number(value: str, what: str, kind: type) -> Any:
    """`value` as an int or float; ConfigError naming the field when it is empty or not a number."""
    if not value:
        raise ConfigError(f"{what}: give a number")
    try:
        return kind(value)
    except ValueError:
        raise ConfigError(f"{what}: {value!r} is not a {'whole ' if kind is int else ''}number") from None


class SetupScreen(Screen):
    """The run form: model, backends, workload, duration, schedule, threads, warm-up, minimum calls, A/A,
    backend options and the session file. The model field has the focus, so typing works at once; Enter in
    any field (or ctrl+s, or Start) starts. A bad value shows one line in the error colour under the form,
    updated as the fields change and gone once the form is valid."""

    DEFAULT_CSS = """
    SetupScreen { align: center middle; }
    SetupScreen > VerticalScroll { width: 96; max-width: 100%; height: auto; max-height: 100%;
                                   border: round $border; padding: 0 1; }
    SetupScreen .row { height: auto; }
    SetupScreen .gap { margin-top: 1; }
    SetupScreen .row > Label { width: 14; color: $foreground; text-style: bold; }
    SetupScreen .row > .sub { width: auto; padding: 0 1 0 2; }
    SetupScreen .row > Input { width: 1fr; }
    SetupScreen .row > Select { width: 18; }
    SetupScreen .row > CheckList { width: 1fr; height: auto; max-height: 8; }
    SetupScreen .hint { color: $foreground-muted; }
    SetupScreen #error { color: $text-error; height: auto; margin-top: 1; display: none; }
    SetupScreen #error.-shown { display: block; }
    SetupScreen #start { width: 100%; margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "start", "Start", priority=True, tooltip="Start the run"),
        Binding("escape", "app.quit", "Quit", tooltip="Leave without running"),
    ]

    def __init__(self, plan: RunPlan, args: argparse.Namespace | None = None) -> None:
        super().__init__()
        self.plan = plan
        self.args = args
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        """The form: one labelled row per setting (single-line fields, so it fits 80×24)."""
        chosen = {b.backend for b in self.plan.backends}
        args = self.args
        threads = getattr(args, "threads", None)
        with VerticalScroll():
            yield Static(
                Content.assemble(
                    ("infbench", "bold"),
                    " — new run  ",
                    ("Enter or ctrl+s starts · every run is recorded", MUTED),
                )
            )
            with Horizontal(classes="row gap"):
                yield Label("model")
                yield Input(
                    self.plan.model,
                    id="model",
                    compact=True,
                    placeholder="built-in name (bert-tiny…), a .onnx file or a Hugging Face directory",
                )
            with Horizontal(classes="row"):
                yield Label("backends")
                yield CheckList[str](
                    *[(n, n, n in chosen) for n in backend_choices()], id="backends", compact=True
                )
            with Horizontal(classes="row"):
                yield from self._workload_fields(FORM_OPTIONS[:2], first=True)
                yield Label("seconds", classes="sub")
                yield Input(f"{self.plan.duration_s:g}", id="duration", type="number", compact=True)
                yield Label("min calls", classes="sub")
                yield Input(str(self.plan.iterations), id="iterations", type="integer", compact=True)
            with Horizontal(classes="row"):
                yield Label("schedule")
                yield Select(
                    [(s, s) for s in SCHEDULES],
                    value=self.plan.schedule,
                    allow_blank=False,
                    id="schedule",
                    compact=True,
                )
                yield Label("threads", classes="sub")
                yield Input(
                    "" if threads is None else str(threads),
                    id="threads",
                    type="integer",
                    compact=True,
                    placeholder="default",
                )
                yield Label("warm-up", classes="sub")
                yield Input(
                    str(getattr(args, "warmup", None) or self.plan.warmup_iterations),
                    id="warmup",
                    compact=True,
                    placeholder="10 (calls) or 2s",
                )
            with Horizontal(classes="row"):
                yield from self._workload_fields(FORM_OPTIONS[2:], first=True)
            with Horizontal(classes="row"):
                yield Label("options")
                yield Input(
                    id="options",
                    compact=True,
                    placeholder="per backend, e.g. ort:graph_opt=basic ov:hint=latency (one per variant)",
                )
            with Horizontal(classes="row"):
                yield Label("session file")
                yield Input(
                    str(getattr(args, "save", None) or ""),
                    id="save",
                    compact=True,
                    placeholder="default: a new timestamped file in the data directory",
                )
            with Horizontal(classes="row"):
                yield Label("A/A")
                yield CheckList[str](
                    (AA_LABEL, "aa", bool(getattr(args, "aa", False))), id="aa", compact=True
                )
            yield Static(
                Content.styled("[X] checked, [ ] not: space or a click toggles; tab moves on", MUTED),
                classes="hint",
            )
            yield Static("", id="error")
            yield Button("Start", variant="primary", id="start", compact=True)
        yield Footer()

    def _workload_fields(self, options: tuple[WorkloadOption, ...], first: bool) -> ComposeResult:
        """A label and an input per declared workload option (`plan.workload`), prefilled from the plan."""
        for i, option in enumerate(options):
            assert option.form is not None
            yield Label(option.form, classes="" if first and i == 0 else "sub")
            yield Input(
                option.form_text(self._prefill(option)),
                id=option.name,
                compact=True,
                placeholder=option.placeholder,
                classes=f"wl-{option.kind}",
            )

    def _prefill(self, option: WorkloadOption) -> Any:
        """The plan's value of a workload option (a --batch list: every variant's batch size, in order)."""
        if option.name == "batch":
            sizes = [b.options.get("batch") for b in self.plan.backends if b.options.get("batch") is not None]
            return list(dict.fromkeys(sizes)) or self.plan.workload.batch
        value = getattr(self.plan.workload, option.name)
        if option.name == "corpus" and value is None:
            return "none"
        return value

    def on_mount(self) -> None:
        """Focus the model field: typing works at once, and Enter starts with what is filled in."""
        self.query_one("#model", Input).focus()

    def value(self, key: str) -> str:
        """The stripped text of input `key`."""
        return self.query_one(f"#{key}", Input).value.strip()

    def build(self) -> tuple[RunPlan, str | None]:
        """The plan and session path the form describes.

        Raises:
            InfbenchError: a field is invalid (the message names it).
        """
        from infbench.engines.models import resolve_model
        from infbench.plan.build import plan_from_args
        from infbench.run.headless import check_output_paths

        chosen = list(self.query_one("#backends", SelectionList).selected)
        if not chosen:
            raise ConfigError("backends: check at least one")
        model = self.value("model") or self.plan.model
        resolve_model(model)  # an unknown name or a missing file is reported here, not after the switch
        save = self.value("save") or None
        check_output_paths(argparse.Namespace(json=None, csv=None, save=save))
        base = vars(self.args).copy() if self.args is not None else {}
        base.update(self._workload_values())
        base.update(
            model=model,
            duration=_number(self.value("duration"), "seconds", float),
            iterations=_number(self.value("iterations"), "min calls", int),
            threads=_number(self.value("threads"), "threads", int) if self.value("threads") else None,
            warmup=self.value("warmup") or str(self.plan.warmup_iterations),
            schedule=self.query_one("#schedule", Select).value,
            aa="aa" in self.query_one("#aa", SelectionList).selected,
            save=save,
        )
        for key, default in (
            ("inter_threads", None),
            ("device", None),
            ("block", self.plan.block_s),
            ("seed", self.plan.seed),
            ("timeout", self.plan.timeout_s),
            ("parity_tol", self.plan.parity_tolerance),
            ("min_agreement", self.plan.min_agreement),
            ("backend", None),
        ):
            base.setdefault(key, default)
        plan = plan_from_args(
            argparse.Namespace(**base), backends=backend_args(chosen, self.value("options"))
        )
        return plan, save

    def _workload_values(self) -> dict[str, Any]:
        """The form's workload fields, parsed by their declarations (an empty field: the default; corpus
        ``none``: no corpus).

        Raises:
            ConfigError: one line naming the field.
        """
        out: dict[str, Any] = {}
        for option in FORM_OPTIONS:
            text = self.value(option.name)
            if option.name == "corpus" and text.lower() in ("none", "-"):
                text = ""
            assert option.form is not None
            out[option.name] = option.parse(text or None, where=option.form)
        return out

    def show_error(self, message: str | None) -> None:
        """Show `message` under the form (None clears it)."""
        self.error = message
        error = self.query_one("#error", Static)
        error.update(Content.styled(f"✗ {message}", BAD) if message else "")
        error.set_class(bool(message), "-shown")

    def _revalidate(self) -> None:
        """While an error is shown: clear it once the form is valid, or show the current problem."""
        if self.error is None:
            return
        try:
            self.build()
        except (InfbenchError, ValueError) as exc:
            self.show_error(str(exc))
        else:
            self.show_error(None)

    @on(Input.Changed)
    @on(SelectionList.SelectedChanged)
    @on(Select.Changed)
    def _changed(self) -> None:
        self._revalidate()

    @on(Input.Submitted)
    @on(Button.Pressed, "#start")
    def action_start(self) -> None:
        """Validate the form, build the plan and switch to the live screen (back here with the error if the
        run cannot start)."""
        from infbench.tui.screens.live import LiveScreen

        try:
            plan, save = self.build()
        except (InfbenchError, ValueError) as exc:
            self.show_error(str(exc))
            return
        self.show_error(None)
        monitors = not getattr(self.args, "no_monitors", False)
        self.app.push_screen(
            LiveScreen(plan, save=save, monitors=monitors, from_setup=True), callback=self._returned
        )

    def _returned(self, error: str | None) -> None:
        """The live screen came back: the run could not start."""
        if error:
            self.show_error(error)
