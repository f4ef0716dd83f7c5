"""Models that do not fit a board are refused before anything boots, with the numbers; the
numbers are the board's own (32-bit) ones when the host's upper bound would refuse."""
import numpy as np
import pytest

from reds.tflite.flatbuffer import pack, unpack
from reds_bench.board import factory, fit
from reds_bench.board.info import board_info
from paths import DEFAULT_MODEL, REPO

CONV_DW_GAP = REPO / "tests" / "fuzz" / "corpus" / "model" / "conv_dw_gap.tflite"


def wide_conv_dw_gap(side: int) -> bytes:
    """conv_dw_gap (conv 3x3/2 SAME, depthwise 3x3 VALID, conv 1x1, global mean, dense) on a
    side x side x 3 input: the global mean makes the weights independent of the input size,
    so only the activation shapes change and the RAM need grows with side**2."""
    t = unpack(CONV_DW_GAP.read_bytes())
    g = t.subgraphs[0]
    half = (side + 1) // 2
    by_op = {g.operators[0].inputs[0]: (side, side, 3), g.operators[0].outputs[0]: (half, half, 13),
             g.operators[1].outputs[0]: (half - 2, half - 2, 13),
             g.operators[2].outputs[0]: (half - 2, half - 2, 7)}
    for i, hwc in by_op.items():
        assert len(g.tensors[i].shape) == 4, "conv_dw_gap changed: update this helper"
        g.tensors[i].shape = np.array((1, *hwc), dtype=np.int32)
        if g.tensors[i].shapeSignature is not None:
            g.tensors[i].shapeSignature = np.array((1, *hwc), dtype=np.int32)
    return pack(t)


@pytest.fixture
def fresh_cache(monkeypatch, tmp_path):
    monkeypatch.setattr(fit, "CACHE_DIR", tmp_path / "fit-cache")
    monkeypatch.setattr(fit, "_measured", {})


def test_message_names_needed_and_available():
    needs = fit.ModelNeeds(ctx_bytes=500, input_bytes=27648, arena_bytes=90000, model_bytes=300000,
                           source="measured on qemu_m4")
    f = fit.Fit("stm32f405", needs, ram_available=100000, flash_needed=400000,
                flash_available=300000)
    assert not f.ok
    msg = f.message()
    assert f"RAM: needs {needs.ram_bytes} bytes" in msg and "100000 available" in msg
    assert "measured on qemu_m4" in msg
    assert "flash: needs 400000 bytes" in msg and "300000 available" in msg
    assert "\n" not in msg


def test_ram_need_adds_context_input_and_arena_aligned():
    needs = fit.ModelNeeds(ctx_bytes=1, input_bytes=17, arena_bytes=32, model_bytes=0)
    assert needs.ram_bytes == 16 + 32 + 32


def test_flash_region_comes_from_the_linker_script():
    assert fit.flash_bytes("stm32f405") == 1024 * 1024  # STM32F405: 1 MB of flash
    assert fit.flash_bytes("qemu_m4") == 4 * 1024 * 1024  # mps2-an386: 4 MB code SSRAM
    assert fit.flash_bytes("native") is None


def test_default_model_needs_match_the_runtime():
    from reds.runtime.binding import Runtime

    model = DEFAULT_MODEL.read_bytes()
    needs = fit.model_needs(model)
    assert needs.arena_bytes == Runtime(model).bytes_needed()
    assert needs.model_bytes == len(model) and needs.input_bytes > 0


def test_exact_figures_replace_the_bound_only_when_it_refuses(monkeypatch, firmware_program):
    elf = firmware_program("stm32f405")
    available = fit.work_ram_bytes(elf)
    model = DEFAULT_MODEL.read_bytes()
    asked = []

    def exact(m):
        asked.append(m)
        return fit.ModelNeeds(400, 16, available // 2, len(m), source="measured on qemu_m4")

    assert fit.check("stm32f405", model, elf, exact).needs.source == "host upper bound"
    assert asked == []
    bound = fit.ModelNeeds(496, 16, available, len(model))
    monkeypatch.setattr(fit, "model_needs", lambda m: bound)
    f = fit.check("stm32f405", model, elf, exact)
    assert asked == [model] and f.ok and f.needs.arena_bytes == available // 2


@pytest.mark.qemu
def test_exact_need_is_below_the_bound_and_what_the_board_reports(fresh_cache, firmware_program):
    model = DEFAULT_MODEL.read_bytes()
    probe = firmware_program(fit.PROBE_ENV)
    boots = []

    def boot(elf):
        boots.append(elf)
        return factory.create_board(fit.PROBE_ENV, firmware=elf)

    exact = fit.board_needs(model, probe, boot)
    host = fit.model_needs(model)
    assert exact.ram_bytes < host.ram_bytes
    assert exact.ctx_bytes < host.ctx_bytes and exact.arena_bytes <= host.arena_bytes
    assert exact.input_bytes == host.input_bytes and exact.source == f"measured on {fit.PROBE_ENV}"
    # the STM32F405 firmware (default model compiled in) reports the same runtime RAM
    with factory.create_board("stm32f405", firmware=firmware_program("stm32f405")) as board:
        board.cmd("reds-select 0")  # subnet 0: the full widths
        head = board_info(board)["info"]
    assert int(head["ctx_bytes"]) == exact.ctx_bytes
    assert int(head["arena_max"]) == int(head["arena_used"]) == exact.arena_bytes
    assert int(head["persistent_bytes"]) < exact.arena_bytes
    # cached: a second check boots nothing, in this process or the next
    assert fit.board_needs(model, probe, boot) == exact and len(boots) == 1
    fit._measured.clear()
    assert fit.board_needs(model, probe, boot) == exact and len(boots) == 1


@pytest.mark.qemu
def test_model_too_large_even_exactly_is_refused_before_the_target_boots(
        monkeypatch, fresh_cache, firmware_program):
    elf = firmware_program("stm32f405")
    available = fit.work_ram_bytes(elf)
    model = wide_conv_dw_gap(201)  # a 121,203-byte input alone exceeds the F405's work RAM
    started = []
    real_create = factory.create_board

    def create(target=None, **kw):
        started.append(target)
        return real_create(target, **kw)

    monkeypatch.setattr(factory, "create_board", create)
    with pytest.raises(fit.ModelTooLargeError) as err:
        factory.create_board_for_model("stm32f405", model)
    assert started == [fit.PROBE_ENV], "only the probe board may boot"
    (exact,) = fit._measured.values()
    assert exact.ram_bytes > available and exact.ram_bytes < fit.model_needs(model).ram_bytes
    assert (f"RAM: needs {exact.ram_bytes} bytes (arena {exact.arena_bytes} + runtime context "
            f"{exact.ctx_bytes} + input {exact.input_bytes}, measured on {fit.PROBE_ENV}), "
            f"{available} available") in str(err.value)
