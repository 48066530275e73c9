import pytest

from rnnkit.errors import InputError
from rnnkit.runs import finish, is_complete, is_run_folder, load_config, start_run
from rnnkit.runs.folder import MARKER


def test_a_new_run_folder_is_created_with_rnnkits_marker(tmp_path):
    run = start_run(tmp_path / "r", "forecast")
    assert run.writes and run.path == tmp_path / "r" and is_run_folder(run.path)
    assert run.checkpoint == tmp_path / "r" / "checkpoint"
    default = start_run(None, "classify", root=tmp_path / "runs")
    assert default.path.parent == tmp_path / "runs"
    assert default.path.name.startswith("classify-")


def test_force_never_removes_a_folder_rnnkit_did_not_create(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "config.json").write_text("{}")  # looks like a run, but rnnkit did not make it
    (project / "notes.txt").write_text("a user's work")
    with pytest.raises(InputError, match="not created by rnnkit .* --force leaves it alone"):
        start_run(project, "forecast", force=True)
    assert sorted(p.name for p in project.iterdir()) == ["config.json", "notes.txt"]
    assert (project / "notes.txt").read_text() == "a user's work"


def test_force_replaces_an_earlier_rnnkit_run_and_nothing_else_is_replaced(tmp_path):
    first = start_run(tmp_path / "r", "forecast")
    (first.path / "model.safetensors").write_bytes(b"old")
    with pytest.raises(InputError, match="already exists and is not empty.*pass --force"):
        start_run(tmp_path / "r", "forecast")
    again = start_run(tmp_path / "r", "forecast", force=True)
    assert sorted(p.name for p in again.path.iterdir()) == [MARKER]


def test_other_processes_of_a_distributed_run_create_and_finish_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("LOCAL_RANK", "1")
    run = start_run(tmp_path / "r", "forecast")
    assert run.path is None and not run.writes and run.checkpoint is None
    assert not (tmp_path / "r").exists()
    finish(run)
    assert not (tmp_path / "r").exists()


def test_resume_in_every_process_sees_the_folder_but_only_the_main_one_writes(tmp_path,
                                                                              monkeypatch):
    main = start_run(tmp_path / "r", "forecast")
    (main.path / "config.json").write_text('{"group": "forecast"}')
    main.checkpoint.mkdir()
    (main.checkpoint / "checkpoint.json").write_text("{}")
    monkeypatch.setenv("LOCAL_RANK", "1")
    other = start_run(tmp_path / "r", "forecast", resume=True)
    assert other.path == tmp_path / "r" and not other.writes
    finish(other)
    assert not is_complete(other.path) and other.checkpoint.is_dir()
    monkeypatch.setenv("LOCAL_RANK", "0")
    resumed = start_run(tmp_path / "r", "forecast", resume=True)
    finish(resumed)
    assert is_complete(resumed.path) and not resumed.checkpoint.exists()


def test_runs_are_loaded_by_their_own_group_only(tmp_path):
    run = start_run(tmp_path / "r", "forecast")
    (run.path / "config.json").write_text('{"group": "forecast", "model": {}}')
    with pytest.raises(InputError, match="is incomplete"):
        load_config(run.path, "forecast", {"model"})
    finish(run)
    config, where = load_config(run.path, "forecast", {"model"})
    assert config["model"] == {} and where.endswith("config.json")
    with pytest.raises(InputError, match="is not a classify run; it is a forecast run: use "
                                         "'rnnkit forecast ...'"):
        load_config(run.path, "classify", {"model"})
    with pytest.raises(InputError, match="no such run folder"):
        load_config(tmp_path / "missing", "forecast", set())
    (run.path / "config.json").write_text('{"group": "forecast", "model": {}, "exec": 1}')
    with pytest.raises(InputError, match=r"unknown keys \['exec'\]"):
        load_config(run.path, "forecast", {"model"})
