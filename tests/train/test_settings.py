from dataclasses import asdict

import pytest

from rnnkit.errors import InputError
from rnnkit.models import captioner, classifier, forecaster, language_model, seq2seq
from rnnkit.train.settings import TrainSettings

GROUP_DEFAULTS = [captioner.TRAINING, classifier.TRAINING, forecaster.TRAINING,
                  language_model.TRAINING, seq2seq.TRAINING]


@pytest.mark.parametrize("settings, message", [
    (TrainSettings(epochs=0), "--epochs 0; expected at least 1"),
    (TrainSettings(batch_size=0), "--batch-size 0"),
    (TrainSettings(lr=0.0), "--lr 0.0; expected a positive learning rate"),
    (TrainSettings(max_minutes=-1.0), "--max-minutes -1.0"),
    (TrainSettings(max_minutes=0.0), "--max-minutes 0.0"),
    (TrainSettings(patience=0), "--patience 0"),
    (TrainSettings(ema=1.0), "--ema 1.0"),
    (TrainSettings(clip=0.0), "--clip 0.0"),
    (TrainSettings(lr_schedule="step"), "--lr-schedule 'step' is not known"),
    (TrainSettings(logger="wandb"), "--logger 'wandb' is not known"),
])
def test_one_settings_class_refuses_bad_settings_by_their_option(settings, message):
    with pytest.raises(InputError, match=message):
        settings.validate()


@pytest.mark.parametrize("defaults", GROUP_DEFAULTS)
def test_every_group_default_is_a_valid_train_settings(defaults):
    assert type(defaults) is TrainSettings
    defaults.validate()
    assert TrainSettings(**asdict(defaults)) == defaults  # the config.json round trip


def test_the_time_budget_in_seconds():
    assert TrainSettings(max_minutes=1.5).max_seconds == 90.0
    assert TrainSettings().max_seconds is None


def test_the_tensorboard_logger_is_refused_up_front_without_its_package(monkeypatch):
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(InputError, match="--logger tensorboard needs the tensorboard package"):
        TrainSettings(logger="tensorboard").validate()
    TrainSettings(logger="csv").validate()
