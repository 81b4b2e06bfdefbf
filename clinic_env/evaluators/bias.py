"""Susceptibility to a bias: did the doctor end up where the bias pointed?

A cognitive bias favours one wrong diagnosis (the transcript keeps it in ``bias_targets``).
Whether the doctor's first diagnosis, or any in its differential, is that target measures
how far the bias moved it; against the unbiased run on the same case and seed, scored on the
same target, it is the bias's effect (see :func:`clinic_env.evaluators.stats.paired_effect`).
"""

from __future__ import annotations

from clinic_env.agents.biasing import BIAS_TARGET_STREAM, bias_target
from clinic_env.agents.model_role import ModelRole
from clinic_env.evaluators.registry import EVALUATORS, EvaluationContext, score_component
from clinic_env.evaluators.scoring import option_texts, rank_of
from clinic_env.schema.transcript import ScoreComponent
from clinic_env.seeding import agent_rng


class BiasTargetEvaluator:
    """Whether the doctor settled on the bias's target. An unbiased run is scored against the
    target a bias would have favoured on the same case and seed: its baseline rate."""

    name = "bias_target"
    produces: tuple[str, ...] = ("bias_target_top1", "bias_target_listed")

    async def evaluate(self, context: EvaluationContext) -> list[ScoreComponent]:
        transcript = context.transcript
        targets = set(transcript.bias_targets.values())
        if not targets:
            rng = agent_rng(transcript.seed, context.case.id, BIAS_TARGET_STREAM)
            targets = {bias_target(context.case, rng, context.matcher)}
        ranked = transcript.differential
        if transcript.options_shown and context.case.options:
            ranked = option_texts(ranked, context.case.options, context.matcher)
        ranks = [rank_of(context.matcher, ranked, target) for target in sorted(targets)]
        found = [rank for rank in ranks if rank is not None]
        return [
            score_component("bias_target_top1", float(1 in found), self.name),
            score_component("bias_target_listed", float(bool(found)), self.name),
        ]


@EVALUATORS.register("bias", offline=True)
def make_bias(judge: ModelRole | None) -> BiasTargetEvaluator:
    """Whether the doctor settled on the bias's target (a control run on the would-be one)."""
    return BiasTargetEvaluator()
