import json

import pytest

from rnnkit.data.dialogues import (
    build_pairs,
    context,
    deduplicate,
    read_dialogues,
    remove_overlap,
)
from rnnkit.errors import InputError
from rnnkit.tasks.chat import RetrievalResponder


def test_dailydialog_format_dedup_and_overlap(tmp_path):
    train = tmp_path / "train.txt"
    train.write_text("hi __eou__ hello , how are you ? __eou__ fine . __eou__\n"
                     "\n"
                     "where is it ? __eou__ over  there . __eou__\n"
                     "hi __eou__ hello , how are you ? __eou__ fine . __eou__\n")
    data = read_dialogues(train)
    assert data.dialogues[1] == ["where is it ?", "over there ."]
    unique = deduplicate(data)
    assert len(unique) == 2 and unique.duplicates == 1
    test = tmp_path / "test.jsonl"
    test.write_text(json.dumps({"turns": ["where is it ?", "over there ."]}) + "\n"
                    + json.dumps({"turns": ["good morning", "morning !", "tea ?"]}) + "\n")
    held_out = remove_overlap(deduplicate(read_dialogues(test)), unique)
    assert held_out.dialogues == [["good morning", "morning !", "tea ?"]]
    assert held_out.overlap == 1
    with pytest.raises(InputError, match="every dialogue of"):
        remove_overlap(unique, unique)


def test_pairs_take_the_last_k_turns_as_context(tmp_path):
    assert context(["a", "b", "c"], 2) == "b __eou__ c"
    pairs = build_pairs(deduplicate(read_dialogues_from(["a", "b", "c", "d"], tmp_path)), 2)
    assert pairs.source == ["a", "a __eou__ b", "b __eou__ c"]
    assert pairs.target == ["b", "c", "d"]
    with pytest.raises(InputError, match="--context-turns 0"):
        build_pairs(read_dialogues_from(["a", "b"], tmp_path), 0)


def read_dialogues_from(turns, folder):
    path = folder / "d.txt"
    path.write_text(" __eou__ ".join(turns) + " __eou__\n")
    return read_dialogues(path)


@pytest.mark.parametrize("content, message", [
    (b"only one turn __eou__\n", "at least two turns"),
    (b"caf\xe9 __eou__ x __eou__\n", "not UTF-8"),
    (b"\n\n", "is empty"),
])
def test_bad_dialogue_files(tmp_path, content, message):
    path = tmp_path / "d.txt"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_dialogues(path)


def test_bad_json_dialogues(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"dialog": ["a", "b"]}\n')
    with pytest.raises(InputError, match='line 1: expected an object with a list of texts'):
        read_dialogues(path)


def test_the_retrieval_baseline(tmp_path):
    pairs = build_pairs(read_dialogues_from(["where is the bank ?", "on main street .",
                                             "thank you very much", "you are welcome ."],
                                            tmp_path), 1)
    bot = RetrievalResponder(pairs)
    assert bot.respond(["excuse me , where is a bank ?", "thanks very much !"]) == [
        "on main street .", "you are welcome ."]
