"""`reds export --standalone`: one plain sliced .tflite per subnet, equal to the nested subnet."""

import numpy as np
import pytest

from reds.tflite import metadata
from reds.errors import UserError
from reds.export.nested import write_standalone
from reds.runtime.binding import Runtime

from paths import DEFAULT_MODEL as MODEL
from reds.runtime import golden


def test_one_plain_file_per_subnet_with_the_subnets_outputs(tmp_path):
    nested = MODEL.read_bytes()
    paths = write_standalone(nested, tmp_path / "sub")
    rt = Runtime(nested)
    assert [p.name for p in paths] == [f"subnet{k}.tflite" for k in range(rt.num_subnets)]
    sizes = [p.stat().st_size for p in paths]
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] < sizes[0]
    x = golden.random_inputs(nested, 3, seed=4)
    for k, p in enumerate(paths):
        plain = p.read_bytes()
        assert metadata.read_metadata(plain) is None
        rt.select(k)
        for xi in x:
            want = rt.invoke(xi[None])
            got = golden.tflm_run(plain, xi[None])
            assert np.array_equal(got.reshape(want.shape), want), f"subnet {k}"


def test_a_plain_model_has_no_subnets_to_write(tmp_path):
    plain = metadata.remove_metadata(MODEL.read_bytes())
    with pytest.raises(UserError, match="no REDS metadata"):
        write_standalone(plain, tmp_path)


def test_standalone_from_an_exported_file_slices_without_keras_and_keeps_class_names(tmp_path):
    """`reds export MODEL.tflite --standalone DIR`: no re-export, no Keras; byte for byte the
    sliced subnets; each with a card holding the class names and that subnet's accuracy."""
    import json
    import subprocess
    import sys

    from paths import REPO
    from reds.tflite import slicing

    model = tmp_path / "kws.tflite"
    model.write_bytes(MODEL.read_bytes())
    names = ["yes", "no", "up", "down"]
    n = Runtime(MODEL.read_bytes()).num_subnets
    (tmp_path / "kws.card.json").write_text(json.dumps({
        "dataset": {"name": "npz", "class_names": names},
        "subnets": [{"subnet": k, "int8_accuracy": 0.9 - 0.1 * k} for k in range(n)]}))
    script = ("import sys\nfrom reds_app.cli import main\n"
              f"rc = main(['export', {str(model)!r}, '--standalone', {str(tmp_path / 'sa')!r}])\n"
              "loaded = sorted({m.split('.')[0] for m in sys.modules} & {'keras', 'tensorflow'})\n"
              "print(rc, loaded)\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "0 []"

    nested = MODEL.read_bytes()
    rt = Runtime(nested)
    x = golden.random_inputs(nested, 2, seed=7)
    for k in range(n):
        plain = (tmp_path / "sa" / f"subnet{k}.tflite").read_bytes()
        assert plain == metadata.remove_metadata(slicing.slice_model(nested, k))
        rt.select(k)
        for xi in x:
            want = rt.invoke(xi[None])
            assert np.array_equal(golden.tflm_run(plain, xi[None]).reshape(want.shape), want)
        card = json.loads((tmp_path / "sa" / f"subnet{k}.card.json").read_text())
        assert card["dataset"]["class_names"] == names
        assert card["subnets"][0]["int8_accuracy"] == pytest.approx(0.9 - 0.1 * k)
        assert card["source"] == {"model": "kws.tflite", "subnet": k}


def test_export_of_a_tflite_says_what_it_can_do(tmp_path, capsys):
    from reds_app.cli import main

    model = tmp_path / "m.tflite"
    model.write_bytes(MODEL.read_bytes())
    assert main(["export", str(model)]) == 2
    assert "give --standalone DIR" in capsys.readouterr().err
    assert main(["export", str(model), "--out", str(tmp_path / "o.tflite"), "--standalone", str(tmp_path)]) == 2
    assert "--out re-exports a run folder" in capsys.readouterr().err
    assert main(["export", str(model), "--c-array", str(tmp_path / "m.c"), "--symbol", "mine"]) == 0
    assert "extern const uint8_t mine[];" in (tmp_path / "m.h").read_text()
