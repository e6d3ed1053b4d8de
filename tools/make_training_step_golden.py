"""Golden for one full training step of a small CNN: loss, every gradient, and the weights after one SGD
(Nesterov momentum, weight decay) step and after one AdamW step.

Run with Debian's PyTorch: /usr/bin/python3 tools/make_training_step_golden.py
Writes tests/Shrink.Tests/Goldens/training/cnn_step.npz. Parameter names match Shrink's GraphBuilder names.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from goldens_common import save, seeded


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 6, 3, stride=2, padding=1)
        self.fc1 = nn.Linear(6 * 2 * 2, 5)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.relu(self.conv2(x))
        return self.fc1(torch.flatten(x, 1))


def main():
    seeded(0)
    model = SmallCnn()
    x = torch.randn(3, 1, 8, 8)
    y = torch.tensor([0, 3, 4])
    init = {k: v.clone() for k, v in model.state_dict().items()}

    arrays = {"x": x, "y": y}
    for k, v in init.items():
        if k.endswith("num_batches_tracked"):
            continue
        arrays["init." + k] = v

    model.train()
    logits = model(x)
    loss = F.cross_entropy(logits, y, label_smoothing=0.1)
    loss.backward()
    arrays["logits"] = logits
    arrays["loss"] = loss.reshape(1)
    for k, p in model.named_parameters():
        arrays["grad." + k] = p.grad
    arrays["after.bn1.running_mean"] = model.bn1.running_mean
    arrays["after.bn1.running_var"] = model.bn1.running_var

    for name, make in [("sgd", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)),
                       ("adamw", lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.01))]:
        m = SmallCnn()
        m.load_state_dict(init)
        m.train()
        opt = make(m.parameters())
        opt.zero_grad()
        F.cross_entropy(m(x), y, label_smoothing=0.1).backward()
        opt.step()
        for k, p in m.named_parameters():
            arrays[f"{name}.{k}"] = p.detach()

    save("training", "cnn_step", **arrays)


if __name__ == "__main__":
    main()
