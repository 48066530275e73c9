import pytest

from rnnkit.plots.forecast import members_loss_figure


def test_members_loss_figure_draws_each_member_in_its_colour_with_its_kept_epoch():
    histories = [{"train_loss": [1.0, 0.5, 0.4], "val_loss": [0.9, 0.6, 0.7]},
                 {"train_loss": [1.1, 0.6], "val_loss": [1.0, 0.8]}]
    fig = members_loss_figure(histories, [2, None])
    lines = fig.axes[0].get_lines()
    labels = [line.get_label() for line in lines if not line.get_label().startswith("_")]
    assert len(lines) == 5 and labels == ["member 0 train", "member 0 val", "member 1 train",
                                          "member 1 val"]
    assert lines[0].get_color() == lines[1].get_color() != lines[3].get_color()
    assert lines[1].get_linestyle() == "--"
    assert list(lines[2].get_xdata()) == [2] and list(lines[2].get_ydata()) == [0.6]  # kept
    with pytest.raises(ValueError):
        members_loss_figure(histories, [2])
