import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from rnnkit.errors import InputError
from rnnkit.train import distributed
from rnnkit.train.distributed import Parallel, ShardedBatches, is_main_process, shard_loader
from rnnkit.train.loader import tensor_loader

SCRIPT = Path(__file__).with_name("ddp_script.py")


def script_module():
    spec = importlib.util.spec_from_file_location("ddp_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_gloo_processes_take_the_steps_of_one_process_with_the_same_batch(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [load_file(tmp_path / f"rank{r}.safetensors") for r in (0, 1)]
    histories = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0].keys() == ranks[1].keys()
    assert all(torch.equal(ranks[0][k], ranks[1][k]) for k in ranks[0])  # DDP kept them equal
    assert histories[0] == histories[1]  # losses summed over both processes

    model, result = script_module().train()  # one process, the same batches of 16
    start = script_module().Regressor()
    for name, value in model.state_dict().items():
        assert not torch.allclose(value, start.state_dict()[name], atol=1e-3)  # it trained
        torch.testing.assert_close(ranks[0][name], value, rtol=0, atol=1e-5)
    for key in ("train_loss", "val_loss"):
        assert histories[0][key] == pytest.approx(result.history[key], rel=1e-5)
    assert result.history["train_loss"][-1] < result.history["train_loss"][0] / 2


def test_each_process_gets_its_share_of_every_batch(monkeypatch):
    loader = tensor_loader(torch.arange(10.0), torch.arange(10.0), batch_size=4, shuffle=True)
    whole = [x.tolist() for x, _ in loader]
    shares = []
    for rank in (0, 1):
        monkeypatch.setattr(distributed, "rank_and_world", lambda r=rank: (r, 2))
        loader.sampler.sampler.generator.manual_seed(0)  # the same draw in both processes
        shares.append([x.tolist() for x, _ in shard_loader(loader)])
    assert [len(b) for b in shares[0]] == [2, 2, 1] and [len(b) for b in shares[1]] == [2, 2, 1]
    assert [sorted(a + b) for a, b in zip(*shares, strict=True)] == [sorted(b) for b in whole]
    assert all(set(a).isdisjoint(b) for a, b in zip(*shares, strict=True))


def test_a_batch_smaller_than_the_processes_is_shared_round_robin(monkeypatch):
    monkeypatch.setattr(distributed, "rank_and_world", lambda: (2, 3))
    assert list(ShardedBatches([[7], [1, 2, 3, 4]])) == [[7], [3]]
    with pytest.raises(ValueError, match="whole batches of indices"):
        list(ShardedBatches([5]))


def test_settings_are_checked_with_clear_messages():
    assert Parallel(devices=2, num_nodes=3).world_size == 6
    assert Parallel(devices=2).lightning_strategy == "ddp"
    assert Parallel().lightning_strategy == "auto"
    for bad, message in ((Parallel(devices=0), "--devices 0"),
                         (Parallel(num_nodes=0), "--num-nodes 0"),
                         (Parallel(strategy="ddp_spawn"), "--strategy 'ddp_spawn'")):
        with pytest.raises(InputError, match=message):
            bad.validate()


@pytest.mark.parametrize("env, main", [
    ({}, True), ({"RANK": "0"}, True), ({"RANK": "3"}, False),
    ({"LOCAL_RANK": "1"}, False), ({"LOCAL_RANK": "0", "NODE_RANK": "1"}, False),
    ({"LOCAL_RANK": "0", "SLURM_PROCID": "5"}, True), ({"SLURM_PROCID": "2"}, False),
])
def test_the_main_process_is_read_from_the_launchers_environment(monkeypatch, env, main):
    for key in ("RANK", "LOCAL_RANK", "NODE_RANK", "SLURM_PROCID"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert is_main_process() is main
