"""The one journal (reds.journal): a line a crash cut is set aside, never appended onto."""
import json

from reds.journal import Journal
from reds.pipeline.rundir import RunDir


def _write_torn(path, entries, cut_last_at=9):
    lines = [json.dumps(e) for e in entries]
    path.write_text("".join(line + "\n" for line in lines[:-1]) + lines[-1][:cut_last_at])


def test_torn_last_line_is_set_aside_and_reported(tmp_path):
    path = tmp_path / "j.jsonl"
    _write_torn(path, [{"step": "a"}, {"step": "b"}, {"step": "c", "data": [1, 2, 3]}])
    j = Journal(path)
    assert j.entries == [{"step": "a"}, {"step": "b"}]
    assert j.dropped == ['{"step": ']
    assert (tmp_path / "j.jsonl.torn").read_text() == '{"step": \n'
    j.append({"step": "c"})
    lines = path.read_text().splitlines()
    assert [json.loads(line) for line in lines] == [{"step": "a"}, {"step": "b"}, {"step": "c"}]
    again = Journal(path)  # the repaired journal reads whole: nothing set aside any more
    assert [e["step"] for e in again.entries] == ["a", "b", "c"] and again.dropped == []


def test_a_line_written_onto_a_fragment_is_dropped_alone(tmp_path):
    # What an older bench left behind: the resumed run appended onto a torn line.
    path = tmp_path / "j.jsonl"
    path.write_text('{"step": "a"}\n{"step": "b"{"step": "c"}\n{"step": "d"}\n')
    j = Journal(path)
    assert [e["step"] for e in j.entries] == ["a", "d"]
    assert j.dropped == ['{"step": "b"{"step": "c"}']


def test_rundir_reruns_only_the_torn_step(tmp_path):
    run = RunDir(tmp_path)
    for step in ("one", "two", "three"):
        run.run(step, lambda step=step: (step, {"value": step}))
    text = (tmp_path / "steps.jsonl").read_text()
    (tmp_path / "steps.jsonl").write_text(text[:-20])  # cut the record of "three"
    ran = []
    again = RunDir(tmp_path)
    for step in ("one", "two", "three"):
        again.run(step, lambda step=step: (ran.append(step) or step, {"value": step}))
    assert ran == ["three"]
    assert [json.loads(x)["step"] for x in (tmp_path / "steps.jsonl").read_text().splitlines()] \
        == ["one", "two", "three"]
    ran.clear()
    third = RunDir(tmp_path)
    for step in ("one", "two", "three"):
        third.run(step, lambda step=step: (ran.append(step) or step, None))
    assert ran == []
