# Linear probe of the real-weights demo's image tower (EfficientNet-Lite0 after ZeroVL fine-tuning on emoji,
# make demo-real) on Fashion-MNIST: same protocol as configs/linear_probe/zerovl_demo_fashion_mnist.py (frozen
# tower, BN neck, LARS, balanced 4,000 training / 2,000 test images at 64 px), so the numbers compare.
#   python tools/train.py configs/linear_probe/zerovl_emoji_lite0_fashion_mnist.py
# The ImageNet weights before fine-tuning, for comparison:
#   ... --cfg-options model.pretrained.checkpoint=None
_base_ = ['./zerovl_demo_fashion_mnist.py']

model = dict(
    image_tower=dict(_delete_=True, type='TimmImageTower', model_name='tf_efficientnet_lite0', pretrained=True,
                     checkpoint='data/pretrained/tf_efficientnet_lite0.safetensors'),
    pretrained=dict(checkpoint='work_dirs/zerovl_emoji_lite0_minilm/epoch_8.pth', prefix='image_tower.'),
)
