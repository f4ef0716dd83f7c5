"""Per-op profiles from the board (``reds-profile K``, docs/protocol.md) and their tables.

``profile_subnet`` asks for one subnet; ``profile_model`` makes sure the board runs the model
and profiles every subnet, adding each op's tensor shapes at that subnet's widths;
``write_profile`` writes ``profile.json``, ``profile.csv``, ``profile.md`` and a stacked-bar
``profile.png`` (time per op type and subnet). docs/bench.md describes the files.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from reds.plan.latency_model import model_groups
from reds.tflite.flatbuffer import load_model
from reds.tflite.groups import member_map

from reds_bench.board import protocol
from reds_bench.errors import BenchError
from reds_bench.measure.steps import ensure_model


def profile_subnet(dut, subnet: int, runs: int = 1, timeout: float = 600.0) -> dict:
    """``reds-profile K R`` parsed: per op the ticks of one run (the mean over ``runs``, which
    resolves below one timer tick) and instructions when the timer counts them."""
    head, ops, total = {}, [], None
    for line in dut.cmd(f"reds-profile {subnet} {runs}", timeout=timeout):
        tag, d = protocol.parse_kv(line)
        if tag == "reds-profile":
            head = d
        elif tag == "reds-profile-op":
            ops.append({"index": int(d["index"]), "op": str(d["op"]), "macs": int(d["macs"]),
                        "ticks": int(d["ticks"]) / runs})
        elif tag == "reds-profile-total":
            total = d
    if not head or total is None or len(ops) != int(head.get("ops", -1)):
        raise BenchError(f"incomplete reds-profile reply for subnet {subnet}: "
                         f"{len(ops)} op lines, header {head}")
    ipt = protocol.instructions_per_tick(head.get("instructions_per_tick"))
    res = {"subnet": subnet, "runs": runs, "unit": head.get("unit"), "hz": int(head["hz"]),
           "instructions_per_tick": ipt, "total_ticks": int(total["ticks"]) / runs,
           "macs": int(total["macs"]), "ops": ops}
    for op in ops:
        op["instructions"] = op["ticks"] * ipt if ipt else None
    res["total_instructions"] = res["total_ticks"] * ipt if ipt else None
    return res


def cost_unit(prof: dict) -> str:
    """The unit a profile's costs are in: instructions when the timer counts them, else ticks."""
    return "instructions" if prof.get("instructions_per_tick") else f"ticks ({prof.get('unit')})"


def op_costs(prof: dict) -> list[float]:
    """Each op's cost in ``cost_unit``."""
    ipt = prof.get("instructions_per_tick") or 1
    return [op["ticks"] * ipt for op in prof["ops"]]


def _shapes(model, groups, widths) -> list[dict]:
    """Per op: its input and output shapes at ``widths`` (a sliced axis scaled to its width);
    without widths (a plain model, one subnet) the shapes stored in the model."""
    m = load_model(model)
    mm = member_map(m, groups) if widths else {}

    def shape(t):
        if t < 0:
            return None
        s = list(m.tensors[t].shape)
        if t in mm:
            g, axis, p = mm[t]
            s[axis] = p * int(widths[g])
        return s

    return [{"in": shape(op.inputs[0]) if op.inputs else None,
             "out": shape(op.outputs[0]) if op.outputs else None} for op in m.operators]


def profile_model(dut, model: bytes, upload: bool = True, path: str = "model", runs: int = 1,
                  progress=None) -> dict:
    """Profile every subnet of ``model`` on the board (uploaded when it runs another one)."""
    info = ensure_model(dut, model, upload=upload, path=path)
    groups = model_groups(model)
    subnets = []
    for s in info["subnets"]:
        k = int(s["index"])
        if progress:
            progress(k, len(info["subnets"]))
        prof = profile_subnet(dut, k, runs)
        widths = s.get("widths") or []
        for op, sh in zip(prof["ops"], _shapes(model, groups, widths)):
            op.update(sh)
        costs = op_costs(prof)
        total = sum(costs)
        for op, c in zip(prof["ops"], costs):
            op["share"] = c / total if total else 0.0
        prof["widths"] = widths
        subnets.append(prof)
    full = sum(op_costs(subnets[0])) if subnets else 0
    for prof in subnets:
        prof["share_of_full"] = sum(op_costs(prof)) / full if full else None
    return {"target": info["info"].get("target"), "model_crc32": info["info"].get("model_crc32"),
            "build": info.get("build", {}), "unit": cost_unit(subnets[0]) if subnets else None,
            "subnets": subnets}


def write_profile(res: dict, out: str | Path, plot: bool = True) -> list[Path]:
    """profile.json, profile.csv (one row per subnet and op), profile.md, profile.png."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "profile.json"]
    (out / "profile.json").write_text(json.dumps(res, indent=1) + "\n")
    cols = ["subnet", "index", "op", "in", "out", "macs", "ticks", "instructions", "share"]
    with open(out / "profile.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for s in res["subnets"]:
            for op in s["ops"]:
                w.writerow([s["subnet"]] + [_cell(op.get(c)) for c in cols[1:]])
    written.append(out / "profile.csv")
    (out / "profile.md").write_text(markdown(res))
    written.append(out / "profile.md")
    if plot:
        p = write_plot(res, out / "profile.png")
        if p:
            written.append(p)
    return written


def _cell(v):
    if isinstance(v, list):
        return "x".join(str(x) for x in v)
    if isinstance(v, float):
        return f"{v:.4f}"
    return "" if v is None else v


def markdown(res: dict) -> str:
    unit = res.get("unit")
    lines = [f"# Per-op profile on {res.get('target')} (model crc32 {res.get('model_crc32')})", "",
             f"Cost unit: {unit}. Mean of {res['subnets'][0].get('runs', 1) if res['subnets'] else 1} inferences after one warm-up; timer reads between ops are "
             "counted in the op before them, so the ops sum to the whole inference.", ""]
    for s in res["subnets"]:
        costs = op_costs(s)
        share = s.get("share_of_full")
        lines += [f"## Subnet {s['subnet']}: {sum(costs):,.0f} {unit}, {s['macs']:,} MACs"
                  + (f", {100 * share:.1f} % of subnet 0" if share is not None else ""), "",
                  f"| op | type | input | output | MACs | {unit} | % |", "|---|---|---|---|---:|---:|---:|"]
        for op, c in zip(s["ops"], costs):
            lines.append(f"| {op['index']} | {op['op']} | {_cell(op.get('in'))} | {_cell(op.get('out'))} "
                         f"| {op['macs']:,} | {c:,.0f} | {100 * op.get('share', 0):.1f} |")
        lines.append("")
    return "\n".join(lines)


def write_plot(res: dict, path: Path) -> Path | None:
    """Stacked bars: per subnet, its cost split by op type. None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    kinds = sorted({op["op"] for s in res["subnets"] for op in s["ops"]})
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bottom = [0.0] * len(res["subnets"])
    xs = [str(s["subnet"]) for s in res["subnets"]]
    for kind in kinds:
        vals = [sum(c for op, c in zip(s["ops"], op_costs(s)) if op["op"] == kind)
                for s in res["subnets"]]
        ax.bar(xs, vals, bottom=bottom, label=kind)
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax.set_xlabel("subnet")
    ax.set_ylabel(res.get("unit") or "ticks")
    ax.set_title(f"where the time goes ({res.get('target')})")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
