import torch
from torch import nn

from rnnkit.train.module import adam


def test_adam_is_fused_on_cpu_and_takes_the_steps_of_the_plain_loop():
    torch.manual_seed(0)
    model = nn.LSTM(3, 4, num_layers=2)
    plain = nn.LSTM(3, 4, num_layers=2)
    plain.load_state_dict(model.state_dict())
    start = model.weight_ih_l0.detach().clone()
    fused = adam(model.parameters(), lr=1e-2, weight_decay=1e-3)
    loop = torch.optim.Adam(plain.parameters(), lr=1e-2, weight_decay=1e-3, foreach=False)
    assert fused.defaults["fused"] is True
    x = torch.randn(6, 5, 3)
    for _ in range(5):
        for net, opt in ((model, fused), (plain, loop)):
            opt.zero_grad()
            net(x)[0].pow(2).mean().backward()
            opt.step()
    for a, b in zip(model.parameters(), plain.parameters(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    assert (model.weight_ih_l0 - start).abs().min() > 1e-3  # every weight moved


def test_adam_falls_back_to_the_loop_where_the_fused_kernel_does_not_apply():
    mixed = [nn.Parameter(torch.zeros(3, dtype=torch.float64)),
             nn.Parameter(torch.zeros(2, dtype=torch.complex64))]
    assert adam(mixed, lr=1e-3).defaults["fused"] is None
    assert adam(mixed[:1], lr=1e-3).defaults["fused"] is True
