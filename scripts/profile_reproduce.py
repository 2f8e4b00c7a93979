"""``make profile``: where ``make reproduce`` spends its time, on a subset sized to run in minutes.

Runs the ``reproduce`` experiment on emo-tiny under cProfile (a fresh run directory under
``outputs/profile``), then writes ``outputs/profile/profile.md``: each stage's seconds from the
manifest, and the functions with the most cumulative and own time. Extra arguments are config
overrides (``python scripts/profile_reproduce.py modulate.per_theme=2``); with ``--full`` no subset is
applied. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import shutil
import sys
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[1]
OUT = REPO_DIR / "outputs" / "profile"

SUBSET = [
    "modulate.per_theme=2",  # 60 test prompts per emotion instead of 600
    "modulate.calibrate_per_theme=1",  # 30 discovery prompts per emotion for calibration
]
"""The reproduce experiment's own settings, with the control stage on fewer prompts: the same
code paths in a few minutes."""


def main(argv: list[str]) -> int:
    from circuits.run import compose, run

    full = "--full" in argv
    overrides = [a for a in argv if a != "--full"]
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    cfg = compose(["experiment=reproduce", *([] if full else SUBSET), *overrides, f"out_dir={OUT / 'run'}",
                   "progress=false"])
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    run(cfg)
    profiler.disable()
    seconds = time.perf_counter() - start
    profiler.dump_stats(OUT / "reproduce.prof")
    stages = json.loads((OUT / "run" / "manifest.json").read_text())["stages"]
    lines = [f"# Profile of `make reproduce`{'' if full else ' on a subset (' + ', '.join(SUBSET) + ')'}", "",
             f"Wall time under cProfile: {seconds:.1f} s (cProfile adds overhead; the ratios are what counts).", "",
             "| stage | seconds |", "|---|---|"]
    lines += [f"| {name} | {entry.get('seconds', 0):.1f} |" for name, entry in stages.items()]
    for key, title in (("cumulative", "most cumulative time"), ("tottime", "most own time")):
        buf = io.StringIO()
        pstats.Stats(str(OUT / "reproduce.prof"), stream=buf).strip_dirs().sort_stats(key).print_stats(30)
        lines += ["", f"## The 30 functions with the {title}", "", "```", buf.getvalue().strip(), "```"]
    (OUT / "profile.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:8 + len(stages)]))
    print(f"\nfull listing: {OUT / 'profile.md'}; open {OUT / 'reproduce.prof'} with snakeviz or pstats")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
