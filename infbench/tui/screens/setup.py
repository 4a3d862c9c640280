"""`SetupScreen`: the run form shown by `infbench-tui` with no arguments, prefilled with the defaults."""

from __future__ import annotations

import argparse
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Select, SelectionList, Static

from infbench.config import SCHEDULES, RunPlan
from infbench.errors import InfbenchError


def backend_choices() -> list[str]:
    """Every installed backend plus the `null` control."""
    from infbench.engines.base import installed_backends

    return installed_backends(include_null=True)


class SetupScreen(Screen):
    """Model, backends, sequence length, batch, duration and schedule; Enter (or Start) starts the run."""

    DEFAULT_CSS = """
    SetupScreen { align: center middle; }
    SetupScreen > VerticalScroll { width: 80; max-width: 100%; height: auto; max-height: 100%;
                                   border: round $accent; padding: 0 2; }
    SetupScreen .row { height: auto; }
    SetupScreen .row > Vertical { width: 1fr; height: auto; }
    SetupScreen SelectionList { height: auto; max-height: 7; }
    SetupScreen #start { width: 100%; margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "start", "Start", priority=True),
        Binding("escape", "app.quit", "Quit"),
    ]

    def __init__(self, plan: RunPlan, args: argparse.Namespace | None = None) -> None:
        super().__init__()
        self.plan = plan
        self.args = args

    def compose(self) -> ComposeResult:
        """The form."""
        chosen = {b.backend for b in self.plan.backends}
        with VerticalScroll():
            yield Static("[b]infbench[/b] — new run  [dim](Enter or ctrl+s starts; every run is recorded)[/dim]")
            yield Label("model (built-in name, .onnx file or Hugging Face directory)")
            yield Input(self.plan.model, id="model")
            yield Label("backends")
            yield SelectionList[str](*[(n, n, n in chosen) for n in backend_choices()], id="backends")
            with Horizontal(classes="row"):
                for key, label, value in (("seq", "seq", self.plan.workload.seq),
                                          ("batch", "batch", self.plan.workload.batch),
                                          ("duration", "seconds", f"{self.plan.duration_s:g}")):
                    with Vertical():
                        yield Label(label)
                        yield Input(str(value), id=key, type="number" if key == "duration" else "integer")
                with Vertical():
                    yield Label("schedule")
                    yield Select([(s, s) for s in SCHEDULES], value=self.plan.schedule, allow_blank=False,
                                 id="schedule")
            yield Button("Start", variant="primary", id="start")
        yield Footer()

    def on_mount(self) -> None:
        """Focus the Start button so Enter starts with the defaults."""
        self.query_one("#start", Button).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#start")
    def action_start(self) -> None:
        """Validate the form, build the plan and switch to the live screen."""
        from infbench.commands.plan_args import plan_from_args
        from infbench.tui.screens.live import LiveScreen

        chosen = list(self.query_one(SelectionList).selected)
        if not chosen:
            self.notify("select at least one backend", severity="error")
            return
        try:
            plan = plan_from_args(self._namespace(), backends=chosen)
        except (InfbenchError, ValueError) as exc:
            self.notify(str(exc), severity="error", timeout=10)
            return
        args = self.args
        self.app.push_screen(LiveScreen(plan, save=getattr(args, "save", None),
                                          monitors=not getattr(args, "no_monitors", False), from_setup=True))

    def _namespace(self) -> argparse.Namespace:
        def value(key: str) -> str:
            return self.query_one(f"#{key}", Input).value.strip()

        base = vars(self.args).copy() if self.args is not None else {}
        base.update(model=value("model") or self.plan.model, seq=int(value("seq") or 0),
                    batch=int(value("batch") or 0), duration=float(value("duration") or 0),
                    schedule=self.query_one("#schedule", Select).value)
        for key, default in (("threads", None), ("inter_threads", None), ("device", None), ("seq_dist", None),
                             ("iterations", self.plan.iterations), ("warmup", str(self.plan.warmup_iterations)),
                             ("block", self.plan.block_s), ("seed", self.plan.seed),
                             ("timeout", self.plan.timeout_s), ("parity_tol", self.plan.parity_tolerance),
                             ("backend", None)):
            base.setdefault(key, default)
        return argparse.Namespace(**base)
