# Fine-tune a pre-trained ZeroVL model for Flickr30K retrieval (Karpathy split: 29k training images /
# 145k captions; evaluation on the 1k test images / 5k captions). The COCO recipe on F30K's data.
#   bash tools/dist_train.sh configs/finetune/zerovl_f30k_ft.py 8 \
#       --cfg-options load_from=work_dirs/zerovl_14m/epoch_20.pth
_base_ = ['./zerovl_coco_ft.py']

dataset_name = 'f30k'
train_dataloader = dict(dataset=dict(name=dataset_name))
val_dataloader = dict(dataset=dict(name=dataset_name, ann_file=f'{dataset_name}/val_anno.csv',
                                   img_dir=f'{dataset_name}/val'))
test_dataloader = dict(dataset=dict(name=dataset_name))
default_hooks = dict(checkpoint=dict(save_best='f30k/rsum'))
