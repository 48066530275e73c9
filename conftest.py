"""Set-up shared by the tests and the docstring examples of rnnkit."""

import pytest


@pytest.fixture(autouse=True)
def _examples_in_a_scratch_folder(request: pytest.FixtureRequest,
                                  tmp_path_factory: pytest.TempPathFactory,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The docstring examples write their small files into the current folder, as a reader
    would; under pytest that folder is a fresh temporary one."""
    if isinstance(request.node, pytest.DoctestItem):
        monkeypatch.chdir(tmp_path_factory.mktemp("example"))
