# E3: one true batch of 128 without dropout. DGA's sub-batches draw other dropout masks than one large batch
# does (same distribution, another draw), so only without dropout can the two loss curves coincide.
_base_ = ['./cpu_two_domain.py']

model = dict(text_tower=dict(config=dict(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)))
