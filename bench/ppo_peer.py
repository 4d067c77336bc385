#!/usr/bin/env python3
"""ppo_peer.py: a PyTorch peer (CleanRL style) of hyscale's autoscaling environment and PPO.

    ppo_peer.py --series series.csv [--forecast8 F.csv] [--holdout 1440] [--episode-length L]
                [--envs 64] [--steps 128] [--total-steps N] [--threads 2] [--seed 1]
                [--mode env|rollout|train] [--anneal] [--verbose]

Used by the benchmark that compares hyscale's C implementation of the environment and of PPO
with stock PyTorch on the CPU. It implements the environment of the shared docs/ENV.md
(/work/shared/docs/ENV.md), version 1, in `margin` action mode only, exactly:

- d = the `clipped` column of series.csv; c = max(1, q99(d_train) / 100); need = ceil(d / c);
  fneed[t][k] = ceil(max(F[t][k], 0) / c) from --forecast8 (row i = minute i), or with no
  forecaster fneed[t][1] = need[t] and the observation's forecast block is 8 zeros;
  S = max(1, q99(need_train)); qP is NumPy's default (linear) percentile; the training span is
  the series without its last --holdout minutes, and c, S and the episodes come from it.
- observation (23 float32): p/S, need[t-7..t]/S, fneed[t][1..8]/S, sin/cos of the minute of
  the day and of the day of the week (t = the minute's index in the series), cold/S, idle/S.
- action a in 0..8: m = (-0.3, -0.2, -0.1, 0, 0.1, 0.2, 0.3, 0.5, 1.0)[a],
  target = clamp(ceil(fneed[t][1] * (1 + m)), 0, ceil(4 S)), computed exactly in integers as
  (fneed * k + 9) div 10 with k = 10 (1 + m) in (7, 8, 9, 10, 11, 12, 13, 15, 20): in floating
  point the product rounds (in float64, ceil(50 * 1.1) = 56; in float32, ceil(25 * 1.2) = 31).
  Instance counts (p, need, fneed, target, cold, idle, change) are int64 tensors.
- precision as hyscale's src/scale/env.c: d and F read as float32, c and need = ceil(d / c) in
  float64, S rounded to float32, observations (x * (1/S)) and rewards (x / S) in float32.
- transition: n = need[t+1], cold = max(0, n - target), idle = max(0, target - n),
  change = |target - p|, reward = -(1.0 cold + 0.1 idle + 0.01 change) / S,
  p = max(target, n), t = t + 1.
- episodes of L steps (default 1440; floor(N_span / 4) when the span is shorter than 4 * 1440)
  from t0 uniform in [7, N_span - L - 9], p = need[t0]; auto-reset: the step that ends an
  episode reports done = 1 and returns the reset observation.
The environment's random stream is torch's generator, not hyscale's counter-based one: the
distributions match, the draws do not.

All E environments are one set of torch tensors stepped together (no Python loop over
environments); the per-minute part of the observation (need window, forecast block, time
features) is a precomputed (N, 20) table gathered by t.

PPO (CleanRL's ppo.py, with these constants):
- actor MLP 23-64-64-9 and critic MLP 23-64-64-1, tanh, separate networks; orthogonal init
  with gain sqrt(2) (hidden layers), 0.01 (policy head), 1 (value head), biases 0.
- rollouts of T steps over E envs (torch.no_grad), categorical policy over the 9 logits
  (torch.distributions.Categorical, validate_args=False; the rollout skips the entropy).
- GAE gamma 0.99, lambda 0.95: nextnonterminal = 1 - dones[t+1] (the done reported by step t),
  bootstrap with the critic's value of the observation after the last step,
  returns = advantages + values. Rewards and observations are not normalised.
- update: batch E*T, 8 minibatches, 4 epochs, a fresh permutation each epoch; advantages
  normalised per minibatch with (A - mean) / (std + 1e-8) (unbiased std); clipped surrogate
  with eps 0.2; v_loss = 0.5 mean((V - R)^2), not clipped; entropy coefficient 0.01, value
  coefficient 0.5; one Adam over both networks (lr 3e-4, eps 1e-5); clip_grad_norm_ 0.5.
  Linear learning-rate annealing only with --anneal.

Modes: `env` steps the environment alone with uniform random actions (torch.randint); `rollout`
runs rollouts with the policy (actor and critic forward, sample, env step, buffer stores), no
update; `train` is full PPO. One untimed warm-up first (256 env steps for `env`, one rollout or
one iteration otherwise; in `train` the warm-up iteration also updates the networks), then
the timed part on time.perf_counter. Output: one JSON line on stdout with impl, torch, mode,
envs, steps, threads, env_steps, seconds, steps_per_second and mean_episode_reward (the mean
undiscounted return of the episodes completed in the timed part, or null).
"""
import argparse
import csv
import json
import math
import sys
import time

import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical

OBS_DIM = 23
N_ACTIONS = 9
MARGINS = (-0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3, 0.5, 1.0)
MULT10 = (7, 8, 9, 10, 11, 12, 13, 15, 20)  # 10 * (1 + m), exact
W_COLD, W_IDLE, W_CHANGE = 1.0, 0.1, 0.01
DAY = 1440

GAMMA, GAE_LAMBDA = 0.99, 0.95
N_MINIBATCHES, N_EPOCHS = 8, 4
CLIP_COEF, ENT_COEF, VF_COEF = 0.2, 0.01, 0.5
LR, ADAM_EPS, MAX_GRAD_NORM = 3e-4, 1e-5, 0.5


def percentile(x, p):
    """qP with linear interpolation between order statistics (NumPy's default), as ENV.md."""
    xs = np.sort(np.asarray(x, dtype=np.float64))
    n = xs.size
    h = (p / 100.0) * (n - 1)
    j = int(math.floor(h))
    if j >= n - 1:
        return float(xs[n - 1])
    return float(xs[j] + (h - j) * (xs[j + 1] - xs[j]))


def read_series(path):
    with open(path, newline="") as f:
        rows = csv.DictReader(f)
        if rows.fieldnames is None or "clipped" not in rows.fieldnames:
            sys.exit(f"ppo_peer: {path}: no 'clipped' column")
        d = [float(r["clipped"]) for r in rows]
    return np.asarray(d, dtype=np.float64)


def read_forecast8(path, n):
    a = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    if a.shape != (n, 9):
        sys.exit(f"ppo_peer: {path}: expected {n} rows of minute,f1..f8, got {a.shape}")
    if not np.array_equal(a[:, 0], np.arange(n, dtype=np.float64)):
        sys.exit(f"ppo_peer: {path}: row i must be minute i")
    return a[:, 1:]


class AutoscaleEnv:
    """E copies of the ENV.md v1 environment (margin actions), stepped together as tensors."""

    def __init__(self, d, F, holdout, num_envs, episode_length=None, seed=1, quiet=False):
        d = np.asarray(d, dtype=np.float64)
        n = d.size
        n_span = n - holdout
        if n_span <= 0:
            sys.exit(f"ppo_peer: holdout {holdout} leaves no training span ({n} minutes)")
        if episode_length is None:
            if n_span < 4 * DAY:
                episode_length = n_span // 4
                if not quiet:
                    print(f"ppo_peer: training span {n_span} minutes < 4*1440: episode length "
                          f"{episode_length} (floor(N_span/4))", file=sys.stderr)
            else:
                episode_length = DAY
        self.L = int(episode_length)
        self.lo, self.hi = 7, n_span - self.L - 9
        if self.L < 1 or self.hi < self.lo:
            sys.exit(f"ppo_peer: episode length {self.L} does not fit a span of {n_span}")

        # Demand and forecasts are float32 and S is a float32, as in hyscale; c, need and fneed
        # come from float64 divisions; observations and rewards are float32 arithmetic.
        f32 = np.float32
        d = d.astype(f32).astype(np.float64)
        self.c = max(1.0, percentile(d[:n_span], 99) / 100.0)
        need = np.ceil(d / self.c)
        self.S = float(f32(max(1.0, percentile(need[:n_span], 99))))
        self.p_max = int(math.ceil(4.0 * self.S))
        inv = f32(1.0) / f32(self.S)
        self.inv_s = float(inv)
        if F is not None:
            F = np.asarray(F).astype(f32).astype(np.float64)
            fneed = np.ceil(np.maximum(F, 0.0) / self.c)
            fneed1 = fneed[:, 0].copy()
            fblock = fneed.astype(f32) * inv
        else:
            fneed1 = need.copy()
            fblock = np.zeros((n, 8), dtype=f32)

        # Per-minute part of the observation: need[t-7..t]/S, fneed[t][1..8]/S, time features.
        pad = np.concatenate([np.zeros(7, dtype=f32), need.astype(f32) * inv])
        window = np.lib.stride_tricks.sliding_window_view(pad, 8)  # row t: need[t-7..t]/S
        tt = np.arange(n, dtype=np.int64)
        two_pi = f32(6.283185307179586)
        ang_d = two_pi * (tt % DAY).astype(f32) / f32(DAY)
        ang_w = two_pi * ((tt // DAY) % 7).astype(f32) / f32(7.0)
        timef = np.stack([np.sin(ang_d), np.cos(ang_d), np.sin(ang_w), np.cos(ang_w)], 1)
        self.static_obs = torch.from_numpy(
            np.concatenate([window, fblock, timef], 1).astype(f32))  # (N, 20)
        self.need = torch.from_numpy(need.astype(np.int64))
        self.fneed1 = torch.from_numpy(fneed1.astype(np.int64))
        self.mult10 = torch.tensor(MULT10, dtype=torch.long)
        self.num_envs = E = num_envs
        self.gen = torch.Generator().manual_seed(seed)
        self.t = torch.zeros(E, dtype=torch.long)
        self.p = torch.zeros(E, dtype=torch.long)
        self.cold = torch.zeros(E, dtype=torch.long)
        self.idle = torch.zeros(E, dtype=torch.long)
        self.step_count = torch.zeros(E, dtype=torch.long)
        self.ep_return = torch.zeros(E, dtype=torch.float64)
        self.episode_returns = []
        self._reset_mask(torch.ones(E, dtype=torch.bool))

    def _reset_mask(self, mask):
        k = int(mask.sum())
        if k == 0:
            return
        t0 = torch.randint(self.lo, self.hi + 1, (k,), generator=self.gen)
        self.t[mask] = t0
        self.p[mask] = self.need[t0]
        self.cold[mask] = 0
        self.idle[mask] = 0
        self.step_count[mask] = 0
        self.ep_return[mask] = 0.0

    def obs(self):
        return torch.cat([(self.p.float() * self.inv_s).unsqueeze(1),
                          self.static_obs.index_select(0, self.t),
                          (self.cold.float() * self.inv_s).unsqueeze(1),
                          (self.idle.float() * self.inv_s).unsqueeze(1)], 1)

    def step(self, action):
        """action: (E,) long in 0..8. Returns obs (E, 23) f32, reward (E,) f32, done (E,) f32."""
        target = self.fneed1.index_select(0, self.t) * self.mult10.index_select(0, action)
        target = torch.div(target + 9, 10, rounding_mode="floor").clamp_(0, self.p_max)
        self.t += 1
        n = self.need.index_select(0, self.t)
        cold = (n - target).clamp_(min=0)
        idle = (target - n).clamp_(min=0)
        change = (target - self.p).abs_()
        reward = -(W_COLD * cold.float() + W_IDLE * idle.float()
                   + W_CHANGE * change.float()) / self.S
        self.p = torch.maximum(target, n)
        self.cold, self.idle = cold, idle
        self.step_count += 1
        self.ep_return += reward
        done = self.step_count >= self.L
        if bool(done.any()):
            self.episode_returns.extend(self.ep_return[done].tolist())
            self._reset_mask(done)
        return self.obs(), reward, done.float()


def layer_init(layer, std=math.sqrt(2), bias_const=0.0):
    nn.init.orthogonal_(layer.weight, std)
    nn.init.constant_(layer.bias, bias_const)
    return layer


class Agent(nn.Module):
    def __init__(self):
        super().__init__()
        self.critic = nn.Sequential(
            layer_init(nn.Linear(OBS_DIM, 64)), nn.Tanh(),
            layer_init(nn.Linear(64, 64)), nn.Tanh(),
            layer_init(nn.Linear(64, 1), std=1.0))
        self.actor = nn.Sequential(
            layer_init(nn.Linear(OBS_DIM, 64)), nn.Tanh(),
            layer_init(nn.Linear(64, 64)), nn.Tanh(),
            layer_init(nn.Linear(64, N_ACTIONS), std=0.01))

    def get_value(self, x):
        return self.critic(x)

    def act(self, x):
        """Rollout step: sampled action, its log-probability and the value (no entropy)."""
        probs = Categorical(logits=self.actor(x), validate_args=False)
        action = probs.sample()
        return action, probs.log_prob(action), self.critic(x)

    def get_action_and_value(self, x, action=None):
        logits = self.actor(x)
        probs = Categorical(logits=logits, validate_args=False)
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action), probs.entropy(), self.critic(x)


class PPO:
    def __init__(self, env, num_steps, num_iterations, anneal):
        self.env, self.T = env, num_steps
        E = env.num_envs
        self.batch = E * num_steps
        if self.batch % N_MINIBATCHES:
            sys.exit(f"ppo_peer: envs*steps = {self.batch} is not divisible by {N_MINIBATCHES}")
        self.minibatch = self.batch // N_MINIBATCHES
        self.agent = Agent()
        self.optimizer = torch.optim.Adam(self.agent.parameters(), lr=LR, eps=ADAM_EPS)
        self.num_iterations, self.anneal = num_iterations, anneal
        self.obs = torch.zeros((num_steps, E, OBS_DIM))
        self.actions = torch.zeros((num_steps, E), dtype=torch.long)
        self.logprobs = torch.zeros((num_steps, E))
        self.rewards = torch.zeros((num_steps, E))
        self.dones = torch.zeros((num_steps, E))
        self.values = torch.zeros((num_steps, E))
        self.next_obs = env.obs()
        self.next_done = torch.zeros(E)

    def rollout(self):
        env, agent = self.env, self.agent
        with torch.no_grad():
            for step in range(self.T):
                self.obs[step] = self.next_obs
                self.dones[step] = self.next_done
                action, logprob, value = agent.act(self.next_obs)
                self.values[step] = value.flatten()
                self.actions[step] = action
                self.logprobs[step] = logprob
                self.next_obs, reward, self.next_done = env.step(action)
                self.rewards[step] = reward

    def gae(self):
        with torch.no_grad():
            next_value = self.agent.get_value(self.next_obs).reshape(1, -1)
            advantages = torch.zeros_like(self.rewards)
            lastgaelam = 0
            for t in reversed(range(self.T)):
                if t == self.T - 1:
                    nextnonterminal = 1.0 - self.next_done
                    nextvalues = next_value
                else:
                    nextnonterminal = 1.0 - self.dones[t + 1]
                    nextvalues = self.values[t + 1]
                delta = self.rewards[t] + GAMMA * nextvalues * nextnonterminal - self.values[t]
                advantages[t] = lastgaelam = (
                    delta + GAMMA * GAE_LAMBDA * nextnonterminal * lastgaelam)
            returns = advantages + self.values
        return advantages, returns

    def update(self, advantages, returns):
        agent, opt = self.agent, self.optimizer
        b_obs = self.obs.reshape(-1, OBS_DIM)
        b_logprobs = self.logprobs.reshape(-1)
        b_actions = self.actions.reshape(-1)
        b_advantages = advantages.reshape(-1)
        b_returns = returns.reshape(-1)
        params = list(agent.parameters())
        for _ in range(N_EPOCHS):
            b_inds = torch.randperm(self.batch)
            for start in range(0, self.batch, self.minibatch):
                mb = b_inds[start:start + self.minibatch]
                _, newlogprob, entropy, newvalue = agent.get_action_and_value(
                    b_obs[mb], b_actions[mb])
                ratio = (newlogprob - b_logprobs[mb]).exp()
                mb_adv = b_advantages[mb]
                mb_adv = (mb_adv - mb_adv.mean()) / (mb_adv.std() + 1e-8)
                pg_loss = torch.max(-mb_adv * ratio,
                                    -mb_adv * torch.clamp(ratio, 1 - CLIP_COEF, 1 + CLIP_COEF)
                                    ).mean()
                v_loss = 0.5 * ((newvalue.view(-1) - b_returns[mb]) ** 2).mean()
                loss = pg_loss - ENT_COEF * entropy.mean() + VF_COEF * v_loss
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(params, MAX_GRAD_NORM)
                opt.step()

    def iteration(self, it, train):
        """it: 1-based timed iteration (0 = warm-up: full learning rate)."""
        if train and self.anneal and it > 0:
            frac = 1.0 - (it - 1.0) / self.num_iterations
            self.optimizer.param_groups[0]["lr"] = frac * LR
        self.rollout()
        if train:
            self.update(*self.gae())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--series", required=True, help="series.csv (column 'clipped' is d)")
    ap.add_argument("--forecast8", help="CSV minute,f1..f8, row i = minute i (default: none)")
    ap.add_argument("--holdout", type=int, default=1440, help="minutes held out at the end")
    ap.add_argument("--episode-length", type=int, default=None,
                    help="L (default 1440, or floor(N_span/4) for a span under 4*1440)")
    ap.add_argument("--envs", type=int, default=64)
    ap.add_argument("--steps", type=int, default=128, help="rollout length T")
    ap.add_argument("--total-steps", type=int, default=None,
                    help="env steps in all (default envs*steps*10)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mode", choices=("env", "rollout", "train"), default="train")
    ap.add_argument("--anneal", action="store_true", help="CleanRL's linear lr annealing")
    ap.add_argument("--verbose", action="store_true",
                    help="per-iteration mean episode return on stderr")
    a = ap.parse_args()
    if a.envs < 1 or a.steps < 1:
        sys.exit("ppo_peer: --envs and --steps must be positive")

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    d = read_series(a.series)
    F = read_forecast8(a.forecast8, d.size) if a.forecast8 else None
    env = AutoscaleEnv(d, F, a.holdout, a.envs, a.episode_length, seed=a.seed)
    total = a.total_steps if a.total_steps is not None else a.envs * a.steps * 10

    if a.mode == "env":
        n_loop = max(1, total // a.envs)
        for _ in range(256):
            env.step(torch.randint(0, N_ACTIONS, (a.envs,)))
        env.episode_returns.clear()
        t0 = time.perf_counter()
        for _ in range(n_loop):
            env.step(torch.randint(0, N_ACTIONS, (a.envs,)))
        seconds = time.perf_counter() - t0
        env_steps = n_loop * a.envs
    else:
        per_it = a.envs * a.steps
        n_it = max(1, total // per_it)
        ppo = PPO(env, a.steps, n_it, a.anneal)
        train = a.mode == "train"
        ppo.iteration(0, train)
        env.episode_returns.clear()
        t0 = time.perf_counter()
        for it in range(1, n_it + 1):
            seen = len(env.episode_returns)
            ppo.iteration(it, train)
            if a.verbose:
                new = env.episode_returns[seen:]
                m = f"{sum(new) / len(new):.4f}" if new else "-"
                print(f"ppo_peer: iteration {it}/{n_it} steps {it * per_it} "
                      f"episodes {len(new)} mean return {m}", file=sys.stderr)
        seconds = time.perf_counter() - t0
        env_steps = n_it * per_it

    eps = env.episode_returns
    print(json.dumps({
        "impl": "pytorch", "torch": torch.__version__, "mode": a.mode, "envs": a.envs,
        "steps": a.steps, "threads": a.threads, "env_steps": env_steps, "seconds": seconds,
        "steps_per_second": env_steps / seconds if seconds > 0 else None,
        "mean_episode_reward": (sum(eps) / len(eps)) if eps else None,
    }))


if __name__ == "__main__":
    main()
