"""`EngineInfo`: what an engine declares about itself — names, packages, what it accepts, options and roles.

Every engine class carries one as its class attribute ``info``; the registry, the plan builder, the docs and
the runner read it, so nothing outside an engine's own module needs to know an engine by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from infbench.engines.options import OptionSchema

NEEDS = ("onnx", "hf", "none")
# Model argument kinds (`engines.models.ModelSource.kind`) each kind of engine can take: ONNX engines run a
# built-in or HF directory through its cached ONNX export; an engine needing a HF directory cannot take .onnx.
_FORMATS = {"onnx": ("builtin", "onnx", "hf"), "hf": ("builtin", "hf"), "none": ("builtin", "onnx", "hf")}


@dataclass(frozen=True)
class EngineInfo:
    """One engine's declaration.

    Attributes:
        name: canonical name (``onnxruntime``); a plugin is renamed to the name it is registered under.
        description: one line for ``--help``, `doctor` and `models`.
        aliases: other accepted names (``ort``).
        requires: import names that must be importable for the engine to run.
        pip: the pip requirement of each import name in `requires` that differs from it (``torch`` → ``torch==…``).
        needs: ``onnx`` (an ONNX file), ``hf`` (a Hugging Face directory) or ``none`` (no model at all).
        tasks: model tasks it can run (empty: any).
        devices: devices it can be asked for (documentation and `models`; the `device` option validates).
        options: its option schema.
        roles: `vocab.Role` values every variant of it has (``control`` for the no-op engine).
        parity_priority: the output-parity reference is the loaded variant with the highest priority (the
            source framework highest); 0 and below are never a reference unless nothing else loaded; a control
            is never one.
        thread_option / inter_thread_option / device_option: the option that receives ``--threads`` /
            ``--inter-threads`` / ``--device``; None when the engine has none (the flag skips it).
        generates: it can run ``--task generate`` (greedy decoding, per-token timing); engines that cannot
            are refused for it before anything spawns.
        takes_text: it takes raw texts and tokenizes them itself (a transformers ``pipeline``): it needs
            ``--corpus`` and is refused without one.
        prefills: it runs a forward pass (``--task prefill``); False for an engine that only generates.
        default_for: the tasks (``prefill``, ``generate``) for which a run without ``--backend`` includes it.
            The direct engines answer the forward-pass question; wrappers, pipelines and generation runtimes are
            deployment variants a user asks for by name (each costs a torch import and seconds of loading).
    """

    name: str
    description: str
    aliases: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    pip: dict[str, str] = field(default_factory=dict)
    needs: str = "none"
    tasks: tuple[str, ...] = ()
    devices: tuple[str, ...] = ()
    options: OptionSchema = field(default_factory=OptionSchema)
    roles: tuple[str, ...] = ()
    parity_priority: int = 0
    thread_option: str | None = None
    inter_thread_option: str | None = None
    device_option: str | None = None
    generates: bool = False
    takes_text: bool = False
    prefills: bool = True
    default_for: tuple[str, ...] = ("prefill",)

    def __post_init__(self) -> None:
        if self.needs not in NEEDS:
            raise ValueError(f"engine {self.name}: needs {self.needs!r} is not one of {', '.join(NEEDS)}")
        for flag in (self.thread_option, self.inter_thread_option, self.device_option):
            if flag is not None and self.options.get(flag) is None:
                raise ValueError(f"engine {self.name}: global flag option {flag!r} is not in its options")

    @property
    def formats(self) -> tuple[str, ...]:
        """Model argument kinds it can take (``builtin``, ``onnx``, ``hf``)."""
        return _FORMATS[self.needs]

    @property
    def is_control(self) -> bool:
        """Whether the engine is a harness control (declares the ``control`` role)."""
        return "control" in self.roles

    def pip_command(self, missing: list[str]) -> str:
        """``pip install …`` for the given missing import names."""
        return "pip install " + " ".join(self.pip.get(m, m) for m in missing)
