# E1: sequential batches: the sources one after the other (each source's pairs shuffled within it).
_base_ = ['./lite0_minilm_sources.py']

train_dataloader = dict(batch_sampler=dict(mode='sequential'))
