"""``reds bench``: thin command line over the library.

    reds bench run --target native --model m.tflite --out out/bench [--resume]
    reds bench run --hardware-map boards.yaml --board nano-1 --model m.tflite --out out/nano
    reds bench discover [--json] [--write-map boards.yaml]
    reds bench info --target qemu_m4            (or --port /dev/ttyACM0 / --url socket://...)
    reds bench send --port /dev/ttyACM0 "reds-select 2"
"""
from __future__ import annotations

import argparse
import json
import sys

from .errors import BenchError


def _board_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("board")
    g.add_argument("--target", help="emulated env: native, qemu_m4, qemu_m7, qemu_m33")
    g.add_argument("--hardware-map", help="hardware map YAML (docs/boards.md)")
    g.add_argument("--board", help="id of the hardware-map entry (default: first)")
    g.add_argument("--port", help="serial port or pyserial URL of an already flashed board")
    g.add_argument("--env", default="nano33ble", help="env of --port's board (Default: nano33ble)")
    g.add_argument("--firmware", help="prebuilt program/ELF for an emulated target (skips the build)")
    g.add_argument("--no-build", action="store_true", help="use the last build of the target")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="reds bench", description="REDS hardware-in-the-loop bench")
    sub = ap.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="measure a model: adaptation, latency, correctness, memory")
    _board_args(r)
    r.add_argument("--model", required=True, help=".tflite with REDS metadata")
    r.add_argument("--out", required=True, help="output folder (results.json, report.md, ...)")
    r.add_argument("--runs", type=int, default=50, help="timed inferences per subnet (Default: 50)")
    r.add_argument("--warmup", type=int, default=1, help="untimed warm-up runs (Default: 1)")
    r.add_argument("--switch-runs", type=int, default=200,
                   help="switches per pair for the adaptation matrix (Default: 200)")
    r.add_argument("--inputs", type=int, default=4,
                   help="random inputs compared bit for bit with TFLM (Default: 4)")
    r.add_argument("--dataset", help=".npz with x (quantized inputs) and y (labels) for accuracy")
    r.add_argument("--max-samples", type=int, help="use only the first N dataset samples")
    r.add_argument("--no-upload", action="store_true",
                   help="fail instead of uploading when the board runs another model")
    r.add_argument("--resume", action="store_true", help="continue the journal in --out")
    r.add_argument("--no-plots", action="store_true")
    r.add_argument("--json", action="store_true", help="print results.json to stdout")

    d = sub.add_parser("discover", help="list serial ports and recognised boards")
    d.add_argument("--json", action="store_true")
    d.add_argument("--all", action="store_true", help="include ports of unknown devices")
    d.add_argument("--write-map", help="write a hardware map of the recognised boards")

    i = sub.add_parser("info", help="connect and print reds-info")
    _board_args(i)
    i.add_argument("--json", action="store_true")

    s = sub.add_parser("send", help="send one protocol command and print the reply")
    _board_args(s)
    s.add_argument("line", help='command without the trailing %, e.g. "reds-bench 0 10"')
    return ap


def _open(args):
    from .factory import BoardSpec, create_dut
    from .hwmap import load_hwmap, select

    if args.port:
        return create_dut(hw=BoardSpec(env=args.env, id=args.env, port=args.port))
    spec = select(load_hwmap(args.hardware_map), args.board) if args.hardware_map else None
    if spec is None and not args.target:
        raise BenchError("give --target, --hardware-map or --port")
    return create_dut(args.target, hw=spec, firmware=args.firmware, build=not args.no_build)


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            from .runner import run_bench

            if not (args.target or args.hardware_map):
                raise BenchError("give --target or --hardware-map (see docs/bench.md)")
            res = run_bench(args.target, model=args.model, out=args.out,
                            hwmap=args.hardware_map, board_id=args.board, firmware=args.firmware,
                            build=not args.no_build, runs=args.runs, warmup=args.warmup,
                            switch_runs=args.switch_runs, inputs=args.inputs,
                            dataset=args.dataset, max_samples=args.max_samples,
                            upload=not args.no_upload, resume=args.resume,
                            plots=not args.no_plots, progress=sys.stderr.isatty())
            if args.json:
                print(json.dumps(res, indent=2))
            else:
                ad = res["adaptation"]
                print(f"wrote {args.out}/results.json, report.md; mean switch "
                      f"{ad.get('mean_ns')} ns over {len(res['latency'])} subnets")
            failed = [c for c in res["correctness"] if c.get("bit_exact") is False]
            return 1 if failed or res.get("errors") else 0
        if args.command == "discover":
            from .discover import discover
            from .hwmap import dump_hwmap, entries_from_discovery

            found = discover(include_unknown=args.all or args.json)
            if args.write_map:
                with open(args.write_map, "w") as f:
                    f.write(dump_hwmap(entries_from_discovery(found)))
            if args.json:
                print(json.dumps(found, indent=2))
            elif not found:
                print("no serial ports found")
            else:
                for d in found:
                    print(f"{d['port']:<16} {d['vid_pid'] or '-':<10} {d['board'] or '?':<32} "
                          f"env={d['env'] or '-'}  {d['description'] or ''}")
            return 0
        with _open(args) as board:
            if args.command == "info":
                from .measure import board_info

                info = board_info(board)
                if args.json:
                    print(json.dumps(info, indent=2))
                else:
                    for line in board.cmd("reds-info"):
                        print(line)
                return 0
            for line in board.cmd(args.line):
                print(line)
            return 0
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished steps are in the journal (rerun with --resume)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
