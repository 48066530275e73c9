import rnnkit
from rnnkit.cli.main import main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"rnnkit {rnnkit.__version__}"


def test_unknown_command_is_a_usage_error():
    assert main(["no-such-command"]) == 2
