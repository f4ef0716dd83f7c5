"""The pytest plugin, tested with pytester (in-process runs of small test files)."""
from importlib.metadata import entry_points


# Installed (pip install -e .), the pytest11 entry point loads the plugin; else load it by name.
PLUGIN = [] if any(e.value == "reds_bench.plugin" for e in entry_points(group="pytest11")) \
    else ["-p", "reds_bench.plugin"]

TEST_FILE = """
def test_board(board):
    assert board.cmd("name") == ["m-name-dut-[reds-native]"]
    lines = board.cmd("reds-select 1")
    assert lines[0].startswith("m-reds-select subnet=1")
    board.write("name%")
    board.expect(r"m-name-dut-\\[reds-(\\w+)]")
    board.expect_exact("m-ready")

def test_golden(board, golden):
    x = golden.inputs(1)[0]
    want = golden(0, x)
    assert len(want) > 0
    assert golden.crc32 == int(board.kv("reds-info", "reds-info")["model_crc32"], 16)
"""


def test_skips_without_target(pytester):
    pytester.makepyfile(TEST_FILE)
    r = pytester.runpytest(*PLUGIN, "-rs")
    r.assert_outcomes(skipped=2)
    r.stdout.fnmatch_lines(["*--reds-target ENV*--reds-hardware-map FILE*"])


def test_runs_against_native_board(pytester, host_program):
    pytester.makepyfile(TEST_FILE)
    r = pytester.runpytest(*PLUGIN, "--reds-target", "native",
                           "--reds-firmware", str(host_program))
    r.assert_outcomes(passed=2)


def test_hardware_map_entry(pytester, host_program):
    pytester.makefile(".yaml", hw="- id: emu-1\n  env: native\n")
    pytester.makepyfile("""
def test_id(board):
    assert board.id == "emu-1"
""")
    r = pytester.runpytest(*PLUGIN, "--reds-hardware-map", "hw.yaml",
                           "--reds-firmware", str(host_program))
    r.assert_outcomes(passed=1)


def test_expect_timeout_message_has_pattern_tail_and_log(pytester, host_program):
    pytester.makepyfile("""
def test_timeout(board):
    board.write("name%")
    board.expect("m-never-printed", timeout=0.3)
""")
    r = pytester.runpytest(*PLUGIN, "--reds-target", "native",
                           "--reds-firmware", str(host_program))
    r.assert_outcomes(failed=1)
    r.stdout.fnmatch_lines(["*ExpectTimeout*m-never-printed*m-name-dut-?reds-native?*serial.log*"])


def test_plugin_over_loop_url(pytester):
    """A hardware-map entry may be any pyserial URL; loop:// echoes, so sync sees its own
    'name%' and never an m-name line: the fixture fails with a clear message."""
    pytester.makefile(".yaml", hw="- id: loop\n  env: nano33ble\n  port: 'loop://'\n")
    pytester.makepyfile("def test_x(board):\n    pass\n")
    r = pytester.runpytest(*PLUGIN, "--reds-hardware-map", "hw.yaml",
                           "--reds-timeout", "1")
    assert r.ret != 0
    r.stdout.fnmatch_lines(["*could not start the board*"])


def test_help_lists_options(pytester):
    r = pytester.runpytest(*PLUGIN, "--help")
    r.stdout.fnmatch_lines(["REDS hardware-in-the-loop bench:", "*--reds-target*", "*--reds-hardware-map*"])


def test_golden_fails_not_skips_when_slicing_raises(pytester):
    """A subnet the slicer cannot cut is a failing test, never a skipped one."""
    pytester.makepyfile("""
def test_golden_of_missing_subnet(golden):
    golden(99, golden.inputs(1)[0])
""")
    r = pytester.runpytest(*PLUGIN)
    r.assert_outcomes(failed=1)
    r.stdout.fnmatch_lines(["*subnet*99*"])
