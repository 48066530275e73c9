import pytest

from rnnkit.errors import InputError
from rnnkit.models.captioner import TrainConfig as CaptionTrain
from rnnkit.models.language_model import TrainConfig as LMTrain
from rnnkit.models.seq2seq import TrainConfig as TranslateTrain


@pytest.mark.parametrize("settings, message", [
    (CaptionTrain(epochs=0), "--epochs 0; expected at least 1"),
    (CaptionTrain(beam_size=0), "--beam-size 0"),
    (LMTrain(seq_length=0), "--seq-length 0"),
    (LMTrain(lr=0.0), "--lr 0.0; expected a positive learning rate"),
    (LMTrain(max_minutes=-1.0), "--max-minutes -1.0"),
    (CaptionTrain(max_minutes=0.0), "--max-minutes 0.0"),
    (TranslateTrain(batch_size=0), "--batch-size 0"),
])
def test_every_group_refuses_the_same_bad_settings(settings, message):
    with pytest.raises(InputError, match=message):
        settings.validate()
    CaptionTrain().validate(), LMTrain(max_minutes=1.5).validate(), TranslateTrain().validate()
