"""The simulator and the MiniLM step benchmarks on an accelerator, with the CPU numbers of the same machine and run
beside them: one command for a GPU (or TPU) machine.

    python benchmarks/gpu_speed.py [--out gpu_speed.json] [--trials 256] [--skip-minilm] [--allow-cpu]

It runs `benchmarks/simulate_speed.py --json` and `benchmarks/minilm_step_speed.py --json` twice each, in
subprocesses: once on JAX's default platform (the accelerator) and once with `JAX_PLATFORMS=cpu`, and prints, per
platform, the simulator's trials/s (float32 and float64, one device), its speed-up over the numpy loop and its
fraction of the draw-alone rate, and the seconds per MiniLM step of each method. The MiniLM part needs
`rmt-alpha fetch minilm reviews-text` (or a copied data cache in `RMT_ALPHA_DATA`); `--skip-minilm` leaves it out.
Without an accelerator it refuses unless `--allow-cpu` (then both columns are the CPU). The JSON written to `--out`
carries the package version, the git commit and the command.
"""

import argparse
import json
import os
import subprocess
import sys

from _provenance import provenance

HERE = os.path.dirname(os.path.abspath(__file__))


def run_json(script: str, arguments: list[str], platform: str | None) -> dict:
    """`python benchmarks/SCRIPT ARGUMENTS --json` on `platform` (None: JAX's default), its JSON output."""
    environment = dict(os.environ)
    if platform is None:
        environment.pop("JAX_PLATFORMS", None)
    else:
        environment["JAX_PLATFORMS"] = platform
    finished = subprocess.run([sys.executable, os.path.join(HERE, script), *arguments, "--json"], env=environment,
                              capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        raise RuntimeError(f"{script} on {platform or 'the default platform'} failed:\n{finished.stderr[-3000:]}")
    return json.loads(finished.stdout[finished.stdout.index("{"):])


def default_platform() -> str:
    """JAX's default platform in a fresh process (cpu, gpu or tpu)."""
    code = "import jax; print(jax.devices()[0].platform)"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="the JSON file to write")
    parser.add_argument("--trials", type=int, default=256, help="simulator trials per timing")
    parser.add_argument("--skip-minilm", action="store_true", help="leave out the MiniLM step benchmark")
    parser.add_argument("--allow-cpu", action="store_true", help="run on a machine without an accelerator")
    args = parser.parse_args(argv)
    stamp = provenance(argv)
    accelerator = default_platform()
    if accelerator == "cpu" and not args.allow_cpu:
        parser.error("JAX sees no accelerator here (its default platform is cpu); pass --allow-cpu to run anyway")
    results = {"provenance": stamp, "accelerator": accelerator, "platforms": {}}
    for label, platform in ((accelerator, None), ("cpu", "cpu")):
        row = {"simulate": run_json("simulate_speed.py", ["--trials", str(args.trials)], platform)}
        if not args.skip_minilm:
            row["minilm_step"] = run_json("minilm_step_speed.py", [], platform)
        results["platforms"][f"{label} ({'default' if platform is None else 'JAX_PLATFORMS=cpu'})"] = row
    for label, row in results["platforms"].items():
        simulate = row["simulate"]
        print(f"{label}: {simulate['device']} x{simulate['device_count']}, numpy loop "
              f"{simulate['baseline']['trials_per_s']:.1f} trials/s (CPU), draws alone "
              f"{simulate['draws_alone_trials_per_s']['threefry2x32']:.0f} trials/s")
        for sim in simulate["simulator"]:
            print(f"  simulate {sim['dtype']} on {sim['devices']} device(s): {sim['trials_per_s']:9.1f} trials/s, "
                  f"{sim['speedup_vs_baseline']:7.1f}x the numpy loop, {sim['fraction_of_draws_alone']:6.1%} of the "
                  "draw-alone rate")
        print(f"  simulate float32 at p = 2000: {simulate['p2000']['trials_per_s']:.2f} trials/s")
        for name, step in row.get("minilm_step", {}).items():
            ratio = step["ratio_to_lora_full_width"]
            print(f"  MiniLM {name:40s} {step['s_per_step']:8.4f} s/step ({ratio:.2f} x LoRA at full width)")
    if args.out:
        from rmt_alpha._io import atomic_write

        atomic_write(args.out, json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
