"""verl: the consultation as an agent loop, registered under the name ``clinic_env``.

verl 0.9 dropped ``BaseInteraction``; multi-turn rollouts are ``AgentLoopBase`` subclasses
looked up by name (a dataset row's ``agent_name`` column, or
``actor_rollout_ref.rollout.agent.default_agent_loop``). Importing this module registers
:class:`ClinicAgentLoop`. For each row verl builds the loop and awaits
``run(sampling_params, **row)``: the row's ``raw_prompt`` (the chat so far) is followed by the
case's opening as a user turn; the doctor's turns are generated through verl's server manager,
each one steps a clinic-env :class:`~clinic_env.session.Session`, and the session's reply is
appended as the next user turn, until the consultation ends or ``rollout.response_length``
is reached. Tokens go through verl's Continuous Token helpers, so the response mask is 1 on
the model's tokens and 0 on the patient's and the room's.

The row's ``case_id`` (required), ``seed`` and ``persona`` are read at the top level or under
``extra_info``. Options that hold for every episode (``dataset``, ``reward``, ``max_turns``,
``patient``, ...) are constructor arguments: give them in an agent-loop config file
(``actor_rollout_ref.rollout.agent.agent_loop_config_path``), e.g.::

    - name: clinic_env
      _target_: clinic_env.adapters.verl.ClinicAgentLoop
      dataset: starter
      reward: default

The output's ``reward_score`` is the episode's return, so verl's reward loop is skipped;
each reward part's total and the return are in ``extra_fields["reward_extra_info"]`` (verl
logs them), and the whole :meth:`~clinic_env.envs.episode.EpisodeRewards.summary` is in
``extra_fields["clinic_env"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import uuid4

try:
    from verl.experimental.agent_loop.agent_loop import (
        AgentLoopBase,
        AgentLoopOutput,
        register,
    )
    from verl.utils.profiler import simple_timer
except ImportError as exc:  # pragma: no cover - depends on the extra
    raise ImportError('the verl adapter needs verl: pip install "clinic-env[verl]"') from exc

from clinic_env.datasets import find_case
from clinic_env.envs.episode import EpisodeRewards
from clinic_env.evaluators.rewards import END_PREFIX, load_reward_spec
from clinic_env.options import SessionOptions
from clinic_env.session import Session, create_session

OPTION_FIELDS = frozenset(SessionOptions.model_fields)

AGENT_NAME = "clinic_env"
Message = dict[str, Any]


def episode_row(row: Mapping[str, Any]) -> tuple[str, int, str | None]:
    """The case id, seed and persona a dataset row asks for (top level or ``extra_info``)."""
    merged = {**dict(row.get("extra_info") or {}), **row}
    if not merged.get("case_id"):
        raise KeyError("a clinic_env row needs a case_id (top level or under extra_info)")
    return str(merged["case_id"]), int(merged.get("seed") or 0), merged.get("persona")


@register(AGENT_NAME)
class ClinicAgentLoop(AgentLoopBase):
    """One consultation per rollout, the model playing the doctor (see the module docstring)."""

    def __init__(self, *args: Any, dataset: str = "starter", **kwargs: Any) -> None:
        """``dataset`` and any :class:`~clinic_env.options.SessionOptions` field (reward,
        max_turns, patient, measurement, ...) come from the agent-loop config; the rest is
        verl's."""
        kwargs.pop("tools", None)  # verl passes its tool list to every loop; doctors use none
        fields = {name: kwargs.pop(name) for name in list(kwargs) if name in OPTION_FIELDS}
        super().__init__(*args, **kwargs)
        self.dataset = dataset
        self.options = SessionOptions(**fields)
        spec = load_reward_spec(self.options.reward)
        self.reward_parts = [*spec.turn, *(f"{END_PREFIX}{name}" for name in spec.end)]

    def new_session(self, row: Mapping[str, Any]) -> Session:
        """The row's consultation, seeded as the row says."""
        case_id, seed, persona = episode_row(row)
        case = find_case(self.dataset, case_id)
        return create_session(case, self.options, dataset=self.dataset, persona=persona, seed=seed)

    async def run(self, sampling_params: dict[str, Any], **kwargs: Any) -> AgentLoopOutput:
        """Play the row's consultation: model turns through the server, replies from the session."""
        session = self.new_session(kwargs)
        response_length = self.rollout_config.response_length
        messages: list[Message] = [
            *kwargs["raw_prompt"],
            {"role": "user", "content": session.opening},
        ]
        token_ids = await self.ct_build_initial_tokens(messages)
        mask: list[int] = []
        logprobs: list[float] = []
        metrics: dict[str, Any] = {}
        rewards = EpisodeRewards()
        request_id = uuid4().hex
        while not session.done and len(mask) < response_length:
            with simple_timer("generate_sequences", metrics):
                output = await self.server_manager.generate(
                    request_id=request_id, prompt_ids=token_ids, sampling_params=sampling_params
                )
            merged, mask, aligned = await self.ct_merge_assistant_token(
                token_ids,
                output.token_ids,
                mask,
                logprobs if logprobs or output.log_probs else None,
                assistant_logprobs=output.log_probs or None,
            )
            token_ids, logprobs = merged.token_ids, aligned or []
            doctor = self.tokenizer.decode(  # type: ignore[attr-defined]  # typed loosely by verl
                output.token_ids, skip_special_tokens=True
            )
            messages.append({"role": "assistant", "content": doctor})
            with simple_timer("tool_calls", metrics):
                result = await session.step(doctor)
            rewards.add(result)
            if session.done or len(mask) >= response_length:
                break
            previous = list(messages)
            messages.append({"role": "user", "content": result.observation})
            merged, mask, aligned = await self.ct_merge_context_msg(
                previous, messages, token_ids, mask, logprobs or None
            )
            token_ids, logprobs = merged.token_ids, aligned or []
        concluded = await session.conclude()  # cut short without a diagnosis: END's penalty
        if concluded is not None:
            rewards.add(concluded)
        turns = len(messages) - len(kwargs["raw_prompt"])
        return self.output(token_ids, mask, logprobs, rewards=rewards, turns=turns, metrics=metrics)

    def output(
        self,
        token_ids: list[int],
        mask: list[int],
        logprobs: list[float],
        *,
        rewards: EpisodeRewards,
        turns: int,
        metrics: dict[str, Any],
    ) -> AgentLoopOutput:
        """verl's record of the rollout, cut to ``response_length``, with the episode's reward."""
        limit = self.rollout_config.response_length
        split = len(token_ids) - len(mask)  # the mask covers the response: merges may trim
        parts = {f"reward/{name}": rewards.components.get(name, 0.0) for name in self.reward_parts}
        extra_info = {"return": rewards.total, "finished": float(rewards.done), **parts}
        return AgentLoopOutput(
            prompt_ids=token_ids[:split],
            response_ids=token_ids[split:][:limit],
            response_mask=mask[:limit],
            response_logprobs=logprobs[:limit] or None,
            reward_score=rewards.total,
            num_turns=turns,
            metrics=metrics,  # type: ignore[arg-type]  # verl validates the dict into its model
            extra_fields={
                "reward_extra_info": extra_info,
                "turn_scores": list(rewards.turn_rewards),
                AGENT_NAME: rewards.summary(),
            },
        )
