"""Command-line entry point: ``python -m circuits.run experiment=<name> [overrides]``.

With ``-m``/``--multirun`` and Hydra's sweep syntax (``seed=0,1 model=emo-tiny,smollm2-135m-instruct``)
it runs one cell per combination through Hydra's launcher (:mod:`circuits.sweep`).

Thin by design: compose the Hydra config, merge it onto the typed schema, validate, create the
run directory, run the experiment's stages, print where the results are. Tests call
:func:`compose` and :func:`run` directly.

Bad input (an unknown key, emotion, stage or model, a missing file, a layer out of range) is
reported as one line on stderr with exit code 2, before any work and before any artifact.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from circuits.config import Config, register_schema
from circuits.errors import UserError
from circuits.paths import CONF_DIR

log = logging.getLogger("circuits")


def rewrite_model_override(overrides: Sequence[str]) -> list[str]:
    """``model=<name>`` with no ``circuits/conf/model/<name>.yaml`` means a TransformerLens pretrained name."""
    out = []
    for o in overrides:
        m = re.fullmatch(r"model=(.+)", o)
        if m and not (CONF_DIR / "model" / f"{m.group(1)}.yaml").is_file():
            out += ["model=pretrained", f"model.name={m.group(1)}"]
        else:
            out.append(o)
    return out


def _choice_error(err: Exception) -> str | None:
    """OmegaConf's message for a bad enum value ("Invalid value 'x', expected one of [A, B]"),
    rewritten with the values a config writes: "unknown <key> 'x': choose from a, b"."""
    import dataclasses
    import enum
    import typing

    text = f"{err} {err.__cause__ or ''}"
    value = re.search(r"Invalid value '([^']*)', expected one of", text)
    key = re.search(r"full_key: (\S+)", text)
    if not value or not key:
        return None
    node: typing.Any = Config
    for part in re.sub(r"\[\d+\]", "", key.group(1)).split("."):
        if not dataclasses.is_dataclass(node):
            return None
        node = typing.get_type_hints(node).get(part)
        while typing.get_origin(node) in (list, typing.Union) or type(node).__name__ == "UnionType":
            node = next(a for a in typing.get_args(node) if a is not type(None))
    if not (isinstance(node, type) and issubclass(node, enum.Enum)):
        return None
    name = re.sub(r"\[\d+\]$", "", key.group(1))
    return f"unknown {name} {value.group(1)!r}: choose from {', '.join(str(m.value) for m in node)}"


def _one_line(err: Exception) -> str:
    msg = str(err).strip().splitlines()
    text = msg[0] if msg else type(err).__name__
    cause = err.__cause__
    if cause is not None and str(cause).strip():
        text += f" ({str(cause).strip().splitlines()[0]})"
    key = re.search(r"full_key: (\S+)", str(err))
    if key and key.group(1) not in text:
        text += f" (key: {key.group(1)})"
    return text


def compose(overrides: Sequence[str] = ()) -> Config:
    """Compose ``circuits/conf/config.yaml`` with ``overrides`` and return a typed, validated Config."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException

    overrides = rewrite_model_override(overrides)
    register_schema()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            raw = hydra_compose(config_name="config", overrides=list(overrides))
    except HydraException as err:
        raise UserError(_choice_error(err) or f"bad override: {_one_line(err)}") from None
    finally:
        GlobalHydra.instance().clear()
    return typed(raw)


def typed(raw) -> Config:
    """A composed config (an OmegaConf node without the ``hydra`` key) as a typed, validated
    Config: an unknown key or a bad value is a :class:`UserError`."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from circuits.validate import validate

    unknown = _unknown_keys(OmegaConf.to_container(raw, resolve=False), Config)
    if unknown:
        raise UserError(f"unknown config key {unknown!r}: check the spelling (`python -m circuits.run --help`)")
    try:
        merged = OmegaConf.merge(OmegaConf.structured(Config), raw)
        cfg: Config = OmegaConf.to_object(merged)  # type: ignore[assignment]
    except OmegaConfBaseException as err:
        raise UserError(_choice_error(err) or f"bad config: {_one_line(err)}") from None
    validate(cfg)
    return cfg


def load_run_config(run_dir: str | Path) -> Config:
    """The typed Config a run was made with (its ``config.yaml``), with ``out_dir`` set to where
    the run is now (it may have been copied or moved): reopen a run with
    ``RunContext(load_run_config(d), RunDir(d))`` and every finished stage's result loads, or
    rerun it in place with :func:`run`."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from circuits.layout import CONFIG

    path = Path(run_dir) / CONFIG
    if not path.exists():
        raise UserError(f"{path} not found: pass the directory of a run (it holds {CONFIG})")
    try:
        cfg: Config = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(Config), OmegaConf.load(path)))  # type: ignore[assignment]
    except (OmegaConfBaseException, ValueError) as err:
        raise UserError(f"{path} is damaged or from another version ({_one_line(err)})") from None
    cfg.out_dir = str(Path(run_dir))
    return cfg


def config_yaml(cfg: Config) -> str:
    """The resolved configuration as YAML, every choice written as its value (as configs write it)."""
    from dataclasses import asdict

    from omegaconf import OmegaConf

    return OmegaConf.to_yaml(OmegaConf.create(_plain(asdict(cfg))))


def _plain(obj):
    """Enums replaced by their values, recursively (numbers left exactly as they are)."""
    import enum

    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def _unknown_keys(node, schema, prefix: str = "") -> str | None:
    """The first key of ``node`` (a plain dict) that the dataclass ``schema`` does not define."""
    import dataclasses
    import typing

    fields = {f.name: f for f in dataclasses.fields(schema)}
    hints = typing.get_type_hints(schema)
    for key, value in node.items():
        if key not in fields:
            return prefix + key
        sub = hints[key]
        if dataclasses.is_dataclass(sub) and isinstance(value, dict):
            found = _unknown_keys(value, sub, f"{prefix}{key}.")
            if found:
                return found
    return None


def thread_count(threads: int | None, workers: int = 1) -> int:
    """``threads``, or the cores this process may use shared among ``workers`` processes."""
    if threads is not None:
        return threads
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // max(1, workers))


def run_dir_for(cfg: Config) -> Path:
    """``out_dir``, or ``outputs/<experiment>/<model>`` under the working directory."""
    if cfg.out_dir:
        return Path(cfg.out_dir)
    name = cfg.model.name
    if name == "gguf" and cfg.model.path:
        from circuits.model.gguf import model_name_for

        name = model_name_for(cfg.model.path)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name)
    return Path.cwd() / "outputs" / cfg.experiment.name / slug


def run(cfg: Config):
    """Run the experiment's stages in one run directory; returns the :class:`RunContext`."""
    import torch

    from circuits.artifacts import RunDir
    from circuits.layout import CONFIG
    from circuits.seeding import seed_everything
    from circuits.stages.context import RunContext
    from circuits.validate import check_out_dir

    seed_everything(cfg.seed)
    torch.set_num_threads(thread_count(cfg.compute.threads, cfg.compute.workers))
    root = run_dir_for(cfg)
    check_out_dir(root)
    try:
        rundir = RunDir(root)
    except OSError as err:
        raise UserError(f"cannot create the run directory {root} ({err.strerror or err}): choose another out_dir") from None
    rundir.write_text(CONFIG, config_yaml(cfg))
    ctx = RunContext(cfg, rundir)
    ctx.mark_outdated()
    rundir.set_run_info(experiment=cfg.experiment.name, model=cfg.model.name, stages=cfg.experiment.stages,
                        device=ctx.device, torch=torch.__version__, threads=torch.get_num_threads(),
                        omp_wait_policy=os.environ.get("OMP_WAIT_POLICY", ""))
    for stage in cfg.experiment.stages:
        ctx.result(stage)
    return ctx


# --- sweeps (Hydra multirun) ------------------------------------------------------------


def run_cell(task_cfg) -> dict:
    """Hydra's task function for one cell: the composed config (without ``hydra``) run in the
    job's output directory. Never raises for a failing cell: the outcome is returned (and the
    manifest says which stages finished), so the launcher goes on with the other cells."""
    from hydra.core.hydra_config import HydraConfig

    from circuits.sweep import PARALLEL_ENV

    root = HydraConfig.get().runtime.output_dir
    try:
        cfg = typed(task_cfg)
        cfg.out_dir = root
        if cfg.compute.threads is None and cfg.compute.workers == 1:
            cfg.compute.workers = int(os.environ.get(PARALLEL_ENV, "1"))
        run(cfg)
        return {"status": "finished"}
    except UserError as err:
        log.error("cell %s failed: %s", root, err)
        return {"status": "failed", "error": str(err)}
    except Exception as err:  # a bug in one cell must not stop the others; its traceback is logged
        log.exception("cell %s failed", root)
        return {"status": "failed", "error": f"{type(err).__name__}: {err}"}


def _launcher(hydra_overrides: Sequence[str], sweep_dir: Path):
    """Hydra's configured launcher for the sweep (its master config composed from the hydra
    overrides), with the task function set."""
    from hydra._internal.callbacks import Callbacks
    from hydra.core.plugins import Plugins
    from hydra.errors import HydraException
    from hydra.types import HydraContext, RunMode
    from omegaconf.errors import OmegaConfBaseException

    from circuits import sweep

    hydra = sweep.hydra_instance()
    fixed = [f"hydra.sweep.dir={json.dumps(str(sweep_dir))}", "hydra.output_subdir=null", "hydra.job.chdir=false",
             "hydra/job_logging=circuits"]
    try:
        master = hydra.compose_config("config", overrides=fixed + list(hydra_overrides), run_mode=RunMode.MULTIRUN,
                                      with_log_configuration=False)
        launcher = Plugins.instance().instantiate_launcher(
            hydra_context=HydraContext(config_loader=hydra.config_loader, callbacks=Callbacks(master)),
            task_function=run_cell, config=master)
    except (HydraException, OmegaConfBaseException, ImportError) as err:
        hint = " (launchers: basic, joblib, submitit_local, submitit_slurm)" if "hydra/launcher" in str(err) else ""
        raise UserError(f"bad launcher setting: {str(err).strip().splitlines()[0]}{hint}") from None
    return master, launcher


def _sweep_cells(args: Sequence[str]):
    """Every cell of a sweep, composed and validated (any bad cell stops the sweep here), with
    the swept keys and the sweep directory."""
    from circuits import sweep

    combos, swept = sweep.expand([a for a in args if not sweep.is_hydra(a)])
    if "out_dir" in swept:
        raise UserError("out_dir names the sweep directory and cannot be swept: sweep other keys")
    root: Path | None = None
    cells = []
    for name, combo in zip(sweep.cell_names(combos, swept), combos):
        task = rewrite_model_override([o for o in combo if not o.startswith("out_dir=")])
        try:
            cfg = compose(task)
            root = root or sweep.sweep_dir(combo, cfg.experiment.name)
            cell = sweep.Cell(name, tuple(task), root / name)
            sweep.check_cell_dir(cell)
        except UserError as err:
            raise UserError(f"cell {name}: {err}") from None
        cfg.out_dir = str(cell.dir)
        cells.append((cell, cfg))
    return cells, swept, root


def multirun(argv: Sequence[str]) -> int:
    """``python -m circuits.run -m ...``: validate every cell, skip finished ones, launch the rest
    with Hydra's launcher, record the outcome; 0 when every cell finished, 1 when any failed."""
    from circuits import sweep

    args = [a for a in argv if a not in sweep.MULTIRUN_FLAGS]
    cells, swept, root = _sweep_cells(args)
    master, launcher = _launcher([a for a in args if sweep.is_hydra(a)], root)
    todo = [(cell, cfg) for cell, cfg in cells if not sweep.finished(cfg, cell.dir)]
    outcome: dict[str, dict[str, Any]] = {cell.name: {"status": "skipped"} for cell, _ in cells}
    log.info("sweep %s: %d cells, %d finished before (skipped), %d to run", root, len(cells),
             len(cells) - len(todo), len(todo))
    if todo:
        os.environ[sweep.PARALLEL_ENV] = str(sweep.parallel(master, len(todo)))
        try:
            returns = list(launcher.launch([[*c.overrides, f"hydra.sweep.subdir={json.dumps(c.name)}"] for c, _ in todo],
                                           initial_job_idx=0))
        except Exception as err:  # a launcher that loses a job (killed, cluster error) raises
            log.error("the launcher stopped: %s: %s", type(err).__name__, err)
            returns = []
        finally:
            os.environ.pop(sweep.PARALLEL_ENV, None)
        for i, (cell, cfg) in enumerate(todo):
            if sweep.finished(cfg, cell.dir):
                outcome[cell.name] = {"status": "finished"}
            else:
                value = sweep.returned(returns[i]) if i < len(returns) else None
                outcome[cell.name] = {"status": "failed", "error": (value or {}).get("error") or sweep.failure(cell.dir)}
    sweep.write_record(root, swept, [cell for cell, _ in cells], outcome)
    failed = [name for name, o in outcome.items() if o["status"] == "failed"]
    counts = {s: sum(o["status"] == s for o in outcome.values()) for s in ("finished", "skipped", "failed")}
    print(f"sweep {root}: {len(cells)} cells: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    for name in failed:
        print(f"failed: {name}: {outcome[name]['error']}", file=sys.stderr)
    return 1 if failed else 0


def is_multirun(argv: Sequence[str]) -> bool:
    from circuits.sweep import MULTIRUN_FLAGS

    return any(a in MULTIRUN_FLAGS for a in argv)


def main(argv: Sequence[str] | None = None) -> int:
    # Threads that wait for work sleep instead of spinning: a spinning thread that shares a core
    # with another busy process stalls the others. OpenMP reads this when torch first loads,
    # which the command line has not done yet here (OMP_WAIT_POLICY=ACTIVE restores spinning).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    argv = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help", "help") for a in argv):
        print(__doc__.strip())
        print("\nexperiments:", ", ".join(sorted(p.stem for p in (CONF_DIR / "experiment").glob("*.yaml"))))
        return 0
    logging.basicConfig(level=os.environ.get("CIRCUITS_LOG", "INFO"), format="%(asctime)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    try:
        if is_multirun(argv):
            return multirun(argv)
        cfg = compose(argv)
        ctx = run(cfg)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted: completed stages are marked done in manifest.json", file=sys.stderr)
        return 130
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EACCES, errno.EROFS, errno.EDQUOT):
            raise
        print(f"error: {err.strerror}: {err.filename or ''} (free some space or fix the permissions, then rerun: "
              "finished stages are reused)", file=sys.stderr)
        return 1
    print(f"done: {ctx.run.root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
