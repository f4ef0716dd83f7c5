"""`reds plan --budget-kind latency --latency-model FILE` end to end (a latency model fitted to
synthetic per-op costs of the converted graph: no board needed)."""
import json

import numpy as np
import pytest
from click.testing import CliRunner
from paths import DEFAULT_MODEL

from reds.plan import latency_model as L
from reds.errors import UserError


ARCH = ["--arch", "ds_cnn_digits", "--input-shape", "8,8,1", "--classes", "10"]


@pytest.fixture(scope="module")
def graph_lm(tmp_path_factory):
    """A latency model of the graph `reds plan` converts: every op costs a large constant plus
    its MACs, so latency shares differ from MAC shares."""
    from reds.tflite.groups import mac_terms
    from reds.train.importance import compute_scores
    from reds.plan.problem import plan_problem
    from reds.model.zoo import build_model

    model = build_model("ds_cnn_digits", (8, 8, 1), 10, seed=0)
    calib = np.random.default_rng(0).standard_normal((20, 8, 8, 1)).astype(np.float32)
    _, tfl = plan_problem(model, compute_scores(model, "magnitude", seed=0, progress=False), calib)
    groups = L.model_groups(tfl)
    slots = L.op_slots(tfl, groups)
    macs = mac_terms(tfl, groups)

    def costs(w):
        per_op = [20000.0] * len(slots)
        for c, a, b in macs:  # attribute each MAC term to the first op writing its output group
            i = next(i for i, s in enumerate(slots) if {s.a, s.b} >= {a, b} - {None})
            per_op[i] += 1.5 * c * (1 if a is None else w[a]) * (1 if b is None else w[b])
        return per_op

    ws = [w for c in L.calibration_widths(groups.full_widths, 18, seed=0, step=4) for w in c]
    lm = L.fit(tfl, groups, "qemu_m4", "instructions", ws, [costs(w) for w in ws], width_step=4)
    return lm.save(tmp_path_factory.mktemp("lm") / "latency_model.json")


def test_plan_in_time(graph_lm, tmp_path):
    from reds_app.cli import cli

    out = tmp_path / "plan.json"
    r = CliRunner().invoke(cli, ["plan", *ARCH, "--budgets", "0.6,0.4", "--budget-kind", "latency",
                                 "--latency-model", str(graph_lm), "--json", str(out), "--time-limit", "30"])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert doc["cost_unit"] == "instructions"
    subs = doc["subnets"]
    assert [s["budget"] for s in subs] == [1.0, 0.6, 0.4]
    for s in subs[1:]:
        assert s["status"] == "optimal" and s["cost_fraction"] <= s["budget"] + 1e-9
        assert s["macs_fraction"] < s["cost_fraction"]  # fixed per-op costs: fewer MACs fit
        assert all(w % 4 == 0 for n, w in s["widths"].items() if n != "logits")
    mac = CliRunner().invoke(cli, ["plan", *ARCH, "--budgets", "0.4", "--json", str(tmp_path / "m.json")])
    assert mac.exit_code == 0, mac.output
    assert json.loads((tmp_path / "m.json").read_text())["cost_unit"] == "MACs"


def test_mismatched_or_missing_latency_model(tmp_path):
    from reds.plan.problem import plan_architecture

    groups = L.model_groups(DEFAULT_MODEL.read_bytes())
    ws = [w for c in L.calibration_widths(groups.full_widths, 6, seed=0) for w in c]
    other = L.fit(DEFAULT_MODEL.read_bytes(), groups, "qemu_m4", "instructions", ws,
                  [[100.0 + w[0], 10.0 + w[0] * w[1], 5.0 + w[1]] for w in ws]).save(tmp_path / "o.json")
    with pytest.raises(L.LatencyModelError, match="another graph"):
        plan_architecture("ds_cnn_digits", (8, 8, 1), 10, [0.5], latency_model=other, budget_kind="latency")
    with pytest.raises(UserError, match="needs --latency-model"):
        plan_architecture("ds_cnn_digits", (8, 8, 1), 10, [0.5], budget_kind="latency")


def test_infeasible_latency_budget_is_one_line_with_shares_and_step(graph_lm, capsys):
    from reds_app.cli import main

    rc = main(["plan", *ARCH, "--budgets", "0.01", "--budget-kind", "latency",
               "--latency-model", str(graph_lm)])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("reds: error: budget 0.01 of the full model") and err.count("\n") == 1
    assert "smallest feasible budget is 0." in err and "width step 4" in err


def test_plan_help_says_what_budgets_are_in_each_kind():
    from reds_app.cli import cli

    r = CliRunner().invoke(cli, ["plan", "--help"], terminal_width=200)
    assert r.exit_code == 0
    budgets_help = " ".join(r.output.split("--budgets", 1)[1].split("--peak-memory")[0].split())
    assert "MACs" in budgets_help and "latency" in budgets_help and "latency model's unit" in budgets_help
