# ZeroVL on 14M pairs, 8 GPUs: ViT-B/16 (IN-21k) + BERT-base, 20 epochs, global batch 1,024 (128 x 8).
# Run: bash tools/dist_train.sh configs/zerovl/zerovl_14m.py 8
_base_ = [
    '../_base_/models/zerovl_vitb16_bert.py',
    '../_base_/datasets/zerovl_14m.py',
    '../_base_/schedules/zerovl_20e.py',
    '../_base_/default_runtime.py',
]
