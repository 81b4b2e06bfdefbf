"""A batched rollout: 64 consultations, one policy call per round for the whole batch.

Replace ``policy`` with your model's batched generation (vLLM, ``model.generate``); with a
model-backed patient (``patient="openai/..."`` or a ModelConfig), its calls for all 64
consultations are in flight together.
"""

import asyncio

from clinic_env.datasets import load_cases
from clinic_env.envs.batched import ConsultationBatch

SCRIPT = ("What brings you in today?", "REQUEST EXAM: vital signs", "DIAGNOSIS READY: Migraine")


async def main() -> None:
    cases = [load_cases("starter")[i % 41] for i in range(64)]
    batch = ConsultationBatch.create(cases, persona="plain", max_turns=10)
    rounds = 0

    async def policy(observations: list[str | None]) -> list[str | None]:
        return [SCRIPT[min(rounds, 2)] if obs is not None else None for obs in observations]

    while not batch.all_done:
        await batch.step(await policy(batch.observations))
        rounds += 1
    returns = [r.total for r in batch.rewards]
    print(f"{len(batch)} consultations, mean return {sum(returns) / len(returns):+.3f}")
    print("reward parts of the first:", dict(batch.rewards[0].components))


if __name__ == "__main__":
    asyncio.run(main())
