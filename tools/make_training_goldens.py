"""Golden data for losses, optimizers and learning-rate schedules (tests/Shrink.Tests/Execution/*GoldenTests.cs).

Run with Debian's PyTorch 1.13:  /usr/bin/python3 tools/make_training_goldens.py
Writes Goldens/losses/*.npz, Goldens/optim/*.npz and Goldens/schedules/*.npz.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

from goldens_common import save, seeded


# ---------------------------------------------------------------- losses

def loss_case(name, logits, **extra):
    save("losses", name, logits=logits, **extra)


def ce(name, n, c, smoothing=0.0, scale=2.0, offset=0.0, seed=0):
    seeded(seed)
    x = (torch.randn(n, c) * scale + offset).requires_grad_(True)
    y = torch.randint(0, c, (n,))
    loss = F.cross_entropy(x, y, label_smoothing=smoothing)
    loss.backward()
    save("losses", name, logits=x, labels=y, smoothing=np.float32(smoothing),
         loss=np.float64(loss.item()), grad=x.grad)


def mse(name, shape, seed=0):
    seeded(seed)
    x = torch.randn(*shape).requires_grad_(True)
    t = torch.randn(*shape)
    loss = F.mse_loss(x, t)
    loss.backward()
    save("losses", name, prediction=x, values=t, loss=np.float64(loss.item()), grad=x.grad)


def kd(name, n, c, temperature, alpha, seed=0):
    seeded(seed)
    s = (torch.randn(n, c) * 3).requires_grad_(True)
    t = torch.randn(n, c) * 3
    y = torch.randint(0, c, (n,))
    T = temperature
    loss = alpha * T * T * F.kl_div(F.log_softmax(s / T, 1), F.softmax(t / T, 1), reduction="batchmean") \
        + (1 - alpha) * F.cross_entropy(s, y)
    loss.backward()
    save("losses", name, logits=s, teacher=t, labels=y, temperature=np.float32(T), alpha=np.float32(alpha),
         loss=np.float64(loss.item()), grad=s.grad)


# ---------------------------------------------------------------- optimizers

STEPS = 5


def optim_case(name, make, lrs, seed=0):
    """Two parameters (a [3,5] weight and a [5] bias), STEPS steps with fixed gradients and per-step learning rates."""
    seeded(seed)
    w = torch.randn(3, 5)
    b = torch.randn(5)
    gw = torch.randn(STEPS, 3, 5)
    gb = torch.randn(STEPS, 5)
    lrs = [float(np.float32(lr)) for lr in lrs]   # the C# side passes float32 learning rates
    pw = torch.nn.Parameter(w.clone())
    pb = torch.nn.Parameter(b.clone())
    opt, hyper = make([pw, pb])
    after_w, after_b = [], []
    for k in range(STEPS):
        for g in opt.param_groups:
            g["lr"] = lrs[k]
        pw.grad = gw[k].clone()
        pb.grad = gb[k].clone()
        opt.step()
        after_w.append(pw.detach().clone())
        after_b.append(pb.detach().clone())
    save("optim", name, w=w, b=b, grad_w=gw, grad_b=gb, lrs=np.array(lrs, dtype=np.float32),
         after_w=torch.stack(after_w), after_b=torch.stack(after_b),
         **{k: np.float64(v) for k, v in hyper.items()})


def sgd(momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    def make(params):
        opt = torch.optim.SGD(params, lr=0.1, momentum=momentum, dampening=dampening,
                              weight_decay=weight_decay, nesterov=nesterov)
        return opt, dict(momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=float(nesterov))
    return make


def adamw(beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    def make(params):
        opt = torch.optim.AdamW(params, lr=1e-2, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)
        return opt, dict(beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay)
    return make


# ---------------------------------------------------------------- schedules

def schedule_case(name, base_lr, make, steps, **hyper):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = make(opt)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        p.grad = torch.zeros(1)
        opt.step()
        sched.step()
    save("schedules", name, lrs=np.array(lrs, dtype=np.float64).astype(np.float32), steps=np.int64(steps),
         base_lr=np.float64(base_lr), **{k: np.float64(v) for k, v in hyper.items()})


def cosine_warmup_lambda(base_lr, warmup, total, min_lr):
    def f(step):
        if step < warmup:
            return step / warmup
        if step >= total:
            return min_lr / base_lr
        progress = (step - warmup) / (total - warmup)
        return (min_lr + (base_lr - min_lr) * 0.5 * (1 + math.cos(math.pi * progress))) / base_lr
    return f


def main():
    torch.set_num_threads(1)
    ce("ce_basic", 5, 7)
    ce("ce_smoothing", 6, 10, smoothing=0.1, seed=1)
    ce("ce_large_logits", 4, 5, scale=30.0, offset=200.0, seed=2)   # stability: exp would overflow without max
    ce("ce_batch1_class1_smoothing", 1, 1, smoothing=0.2, seed=3)
    mse("mse_2d", (4, 3))
    mse("mse_4d", (2, 3, 2, 2), seed=1)
    kd("kd_t4_a07", 6, 10, temperature=4.0, alpha=0.7)
    kd("kd_t1_a05", 3, 4, temperature=1.0, alpha=0.5, seed=1)
    kd("kd_t2_a1", 4, 6, temperature=2.0, alpha=1.0, seed=2)

    lrs = [0.1, 0.05, 0.2, 0.01, 0.1]
    optim_case("sgd_plain", sgd(), lrs)
    optim_case("sgd_momentum", sgd(momentum=0.9), lrs, seed=1)
    optim_case("sgd_momentum_dampening", sgd(momentum=0.8, dampening=0.3), lrs, seed=2)
    optim_case("sgd_nesterov", sgd(momentum=0.9, nesterov=True), lrs, seed=3)
    optim_case("sgd_weight_decay", sgd(weight_decay=0.05), lrs, seed=4)
    optim_case("sgd_momentum_weight_decay_nesterov", sgd(momentum=0.7, weight_decay=0.01, nesterov=True), lrs, seed=5)
    alrs = [1e-2, 5e-3, 2e-2, 1e-3, 1e-2]
    optim_case("adamw_default", adamw(), alrs, seed=6)
    optim_case("adamw_custom", adamw(beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.1), alrs, seed=7)
    optim_case("adamw_no_decay", adamw(weight_decay=0.0), alrs, seed=8)

    schedule_case("step_lr", 0.1, lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5), 50,
                  step_size=7, gamma=0.5)
    schedule_case("cosine_warmup", 0.1,
                  lambda o: torch.optim.lr_scheduler.LambdaLR(o, cosine_warmup_lambda(0.1, 5, 50, 1e-3)), 55,
                  warmup=5, total=50, min_lr=1e-3)
    schedule_case("cosine_no_warmup", 0.05,
                  lambda o: torch.optim.lr_scheduler.LambdaLR(o, cosine_warmup_lambda(0.05, 0, 40, 0.0)), 40,
                  warmup=0, total=40, min_lr=0.0)
    schedule_case("one_cycle", 0.1, lambda o: torch.optim.lr_scheduler.OneCycleLR(
        o, max_lr=0.1, total_steps=50, anneal_strategy="cos", three_phase=False, cycle_momentum=False), 50,
        max_lr=0.1, total=50, pct_start=0.3, div_factor=25.0, final_div_factor=1e4)
    schedule_case("one_cycle_odd", 0.4, lambda o: torch.optim.lr_scheduler.OneCycleLR(
        o, max_lr=0.4, total_steps=37, pct_start=0.25, div_factor=10.0, final_div_factor=100.0,
        anneal_strategy="cos", three_phase=False, cycle_momentum=False), 37,
        max_lr=0.4, total=37, pct_start=0.25, div_factor=10.0, final_div_factor=100.0)


if __name__ == "__main__":
    main()
