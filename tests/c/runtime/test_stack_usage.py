"""The runtime's stack needs stay within the budget docs/runtime.md promises to firmware teams.

Worst case over every call path from reds_init / reds_select / reds_invoke, from GCC's
call-graph information (reds.runtime.stack_usage), for the Cortex-M4 firmware build with and without the
DSP kernels and for the host build. Deterministic: frame sizes are compile-time facts.
"""
from __future__ import annotations

import shutil

import pytest

from reds.runtime import stack_usage as stackusage
from reds.errors import UserError

STACK_BUDGET = 10 * 1024  # bytes below the caller's frame; docs/runtime.md "Stack"

VARIANTS = [("qemu_m4", True), ("qemu_m4", False), ("native", False)]


@pytest.mark.parametrize("env,dsp", VARIANTS, ids=["cortex-m4-dsp", "cortex-m4-portable", "host"])
def test_worst_case_stack_within_budget(env, dsp):
    cc = stackusage.compiler_for(env, dsp)
    if shutil.which(cc[0]) is None:
        pytest.fail(f"{cc[0]} missing: run `make bootstrap`")
    report = stackusage.analyse(env, cc)
    assert set(report.depth) == set(stackusage.ENTRY_POINTS)
    for entry, depth in report.depth.items():
        assert 0 < depth <= STACK_BUDGET, f"{entry}: {depth} B via {' -> '.join(report.path[entry])}"
    # the kernels are reached: the deepest invoke path goes through an op kernel
    assert any(fn.startswith("reds_") and fn.endswith(("_s8", "_f32")) for fn in report.path["reds_invoke"])


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_analysis_sums_the_deepest_chain(tmp_path):
    src = write(tmp_path, "chain.c", """
        #include <string.h>
        static void __attribute__((noinline)) leaf(char *p) { memset(p, 1, 16); }
        static void __attribute__((noinline)) big(void) { volatile char b[3000]; leaf((char *)b); }
        static void __attribute__((noinline)) small(void) { volatile char b[100]; leaf((char *)b); }
        void entry(int x) { if (x) big(); else small(); }
    """)
    report = stackusage.analyse("t", ["gcc", "-O2"], [src], ("entry",))
    assert report.path["entry"] == ["entry", "big", "leaf"]
    assert 3000 <= report.depth["entry"] < 3200


@pytest.mark.parametrize("body,message", [
    ("void entry(int n) { volatile char b[n]; b[0] = 1; }", "unbounded stack frame"),
    ("int entry(int n) { return n ? entry(n - 1) + 1 : 0; }", "recursion"),
])
def test_analysis_refuses_unbounded_stacks(tmp_path, body, message):
    src = write(tmp_path, "bad.c", body)
    with pytest.raises(UserError, match=message):
        stackusage.analyse("t", ["gcc", "-O1", "-fno-optimize-sibling-calls"], [src], ("entry",))
