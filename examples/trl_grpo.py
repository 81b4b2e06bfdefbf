"""TRL GRPO with the consultation as the environment (a GPU and a tool-calling model).

pip install torch "clinic-env[trl]"
python examples/trl_grpo.py
"""

from datasets import Dataset
from trl import GRPOConfig, GRPOTrainer

from clinic_env.adapters.trl import ConsultationToolEnv, component_rewards
from clinic_env.datasets import load_cases

PROMPT = [{"role": "user", "content": "You are the doctor. Use the tools; diagnose at the end."}]
rows = Dataset.from_list([{"prompt": PROMPT, "case_id": c.id} for c in load_cases("starter")])
trainer = GRPOTrainer(
    model="Qwen/Qwen3-0.6B",
    train_dataset=rows,
    environment_factory=ConsultationToolEnv,  # reward: get_reward(), the episode's return
    reward_funcs=component_rewards(["new_facts", "end.top1"]),  # logged, weight 0
    args=GRPOConfig(output_dir="grpo-clinic", reward_weights=[0.0, 0.0], max_steps=100),
)
trainer.train()
