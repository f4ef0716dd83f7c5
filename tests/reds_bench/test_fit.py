"""Models that do not fit a board are refused before anything boots, with the numbers."""
import pytest

from reds_bench.board import factory, fit
from paths import DEFAULT_MODEL


def test_message_names_needed_and_available():
    needs = fit.ModelNeeds(ctx_bytes=500, input_bytes=27648, arena_bytes=90000, model_bytes=300000)
    f = fit.Fit("stm32f405", needs, ram_available=100000, flash_needed=400000,
                flash_available=300000)
    assert not f.ok
    msg = f.message()
    assert f"RAM: needs {needs.ram_bytes} bytes" in msg and "100000 available" in msg
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


@pytest.mark.qemu
def test_too_large_model_refused_before_the_board_boots(monkeypatch, firmware_program):
    elf = firmware_program("stm32f405")
    available = fit.work_ram_bytes(elf)
    too_big = fit.ModelNeeds(ctx_bytes=512, input_bytes=1024, arena_bytes=available,
                             model_bytes=len(DEFAULT_MODEL.read_bytes()))
    monkeypatch.setattr(fit, "model_needs", lambda model: too_big)

    def no_boot(*args, **kwargs):
        raise AssertionError("a board was started for a model that does not fit")

    monkeypatch.setattr(factory, "create_board", no_boot)
    with pytest.raises(fit.ModelTooLargeError,
                       match=rf"RAM: needs {too_big.ram_bytes} bytes .* {available} available"):
        factory.create_board_for_model("stm32f405", DEFAULT_MODEL.read_bytes())
