"""Zero-shot image classification with a trained dual encoder: classes are described in words.

Each class becomes one text embedding: every template of a prompt ensemble is filled with every name
of the class, the prompts are embedded (L2-normalised), averaged, and the mean is normalised again.
An image is then scored against all class embeddings by cosine similarity.
"""
import itertools
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch

from zerovl.registry import MODELS
from .dual_encoder import DualEncoder
from .heads import l2_normalize
from .text_embedding import embed_texts
from .zero_shot_prompts import ClassNames, fill_template, resolve_classnames, resolve_templates

# A task is what a class-embedding matrix depends on: the classes' names and the templates.
Task = Tuple[ClassNames, Tuple[str, ...]]
# The task key of a model with a single task, whatever ``dataset_name`` its samples carry.
_EVERY_DATASET = None


@MODELS.register_module()
class ZeroShotClassifier(DualEncoder):
    """A :class:`DualEncoder` that also classifies images against class names (zero-shot).

    It has exactly DualEncoder's parameters, so a checkpoint trained as a DualEncoder loads into it
    unchanged (``tools/test.py CONFIG CKPT``). Image-text batches (with ``input_ids``) are handled as by
    DualEncoder (retrieval); image-only batches are classified.

    Args:
        classnames: the classes, in label order: a list whose entries are a name or a list of synonyms,
            or a named set ('imagenet', 'fashion_mnist', 'synthetic_shape', ... see zero_shot_prompts.py).
            A dict ``{dataset_name: classes}`` gives each evaluation dataset its own classes (samples
            are routed by their ``dataset_name``).
        templates: prompt templates with one ``{}`` slot, or a named set ('general', 'synthetic'); also
            accepted as a dict per ``dataset_name``.
        tokenizer: the text tower's tokenizer, as ``build_tokenizer`` takes it (hub name, tokenizer
            folder or WordPiece ``vocab.txt``); built on first use.
        max_length: tokens per prompt, [CLS] and [SEP] included (as the training captions).
        text_batch_size: prompts embedded per text-tower call while building class embeddings.
        **kwargs: DualEncoder's arguments (towers, heads, loss, data_preprocessor, ...).

    Prediction on an image-only batch: one dict per sample, its ``data_samples`` entry plus
    ``pred_score``, a (C,) CPU tensor, softmax over the classes of the cosine similarities
    ``image_embed @ class_embeds.T``. No temperature is applied: any positive scale gives the same
    ranking, hence the same top-k accuracy, and at scale 1 no probability can underflow to a tie.

    Class embeddings are computed on the first classification batch and cached until the weights may
    have changed: ``train()``/``eval()`` (so once per evaluation run) and loading a state dict clear
    the cache. The cache is a plain attribute, never part of the state dict.
    """

    def __init__(self,
                 *,
                 classnames: Union[str, Sequence, Mapping[str, Union[str, Sequence]]],
                 tokenizer: str,
                 templates: Union[str, Sequence[str], Mapping[str, Union[str, Sequence[str]]]] = 'general',
                 max_length: int = 25,
                 text_batch_size: int = 256,
                 **kwargs):
        super().__init__(**kwargs)
        if not isinstance(tokenizer, str):
            raise TypeError(f'model.tokenizer must be a hub name or a path (str), got {type(tokenizer)}')
        if max_length < 3:
            raise ValueError(f'model.max_length must leave room for [CLS], a word and [SEP], got {max_length}')
        if text_batch_size < 1:
            raise ValueError(f'model.text_batch_size must be positive, got {text_batch_size}')
        self.tokenizer_name = tokenizer
        self.max_length = max_length
        self.text_batch_size = text_batch_size
        self.tasks: Dict[Optional[str], Task] = resolve_tasks(classnames, templates)
        self._tokenizer = None
        self._class_embeds: Dict[Task, torch.Tensor] = {}

    # ------------------------------------------------------------------------------ class embeddings
    @property
    def tokenizer(self):
        # Built on first use: building the model (or printing its config) needs no tokenizer files.
        if self._tokenizer is None:
            from zerovl.utils.tokenizer import build_tokenizer
            self._tokenizer = build_tokenizer(self.tokenizer_name)
        return self._tokenizer

    def task_for(self, dataset_name: Optional[str]) -> Task:
        if _EVERY_DATASET in self.tasks:
            return self.tasks[_EVERY_DATASET]
        if dataset_name not in self.tasks:
            raise KeyError(f'ZeroShotClassifier: no classes for dataset_name {dataset_name!r}; '
                           f'model.classnames / model.templates name {sorted(self.tasks)}')
        return self.tasks[dataset_name]

    def class_embeddings(self, task: Task) -> torch.Tensor:
        """(C, D) unit-norm class embeddings of ``task``, computed once and cached."""
        if task not in self._class_embeds:
            self._class_embeds[task] = self.compute_class_embeddings(*task)
        return self._class_embeds[task]

    @torch.no_grad()
    def compute_class_embeddings(self, classnames: ClassNames, templates: Sequence[str]) -> torch.Tensor:
        """Per class: embed every (template, name) prompt, average the unit vectors, normalise again."""
        prompts = [[fill_template(template, name) for name in names for template in templates]
                   for names in classnames]
        flat = [prompt for class_prompts in prompts for prompt in class_prompts]
        embeds = embed_texts(self, self.tokenizer, flat, self.max_length, self.text_batch_size)
        # Classes may have different numbers of synonyms, so the mean is taken per slice of the batch.
        bounds = list(itertools.accumulate([0] + [len(class_prompts) for class_prompts in prompts]))
        means = torch.stack([embeds[start:end].mean(0) for start, end in zip(bounds[:-1], bounds[1:])])
        return l2_normalize(means)

    def clear_class_embeddings(self) -> None:
        self._class_embeds = {}

    # ------------------------------------------------------------------ invalidation on weight changes
    def train(self, mode: bool = True):
        # Training changes the weights, and the loops call eval() before every evaluation: clearing on
        # both recomputes the class embeddings once per evaluation run.
        self.clear_class_embeddings()
        return super().train(mode)

    def _load_from_state_dict(self, *args, **kwargs):
        # torch's load_state_dict and mmengine's load_checkpoint both come through here.
        self.clear_class_embeddings()
        return super()._load_from_state_dict(*args, **kwargs)

    # ---------------------------------------------------------------------------------- MMEngine API
    def forward(self, inputs: dict, data_samples: Optional[List[dict]] = None, mode: str = 'tensor', mix=None):
        if 'input_ids' in inputs:  # an image-text batch: retrieval and training, as DualEncoder
            return super().forward(inputs, data_samples, mode, mix)
        if mode == 'predict':
            return self.classify(inputs['images'], data_samples)
        if mode == 'tensor':
            return self.encode_image(inputs['images'])
        raise ValueError(f'ZeroShotClassifier.forward: an image-only batch supports modes predict and '
                         f'tensor, got {mode!r} (training needs captions: input_ids)')

    def classify(self, images: torch.Tensor, data_samples: Optional[List[dict]]) -> List[dict]:
        """One dict per image: its data sample plus ``pred_score`` (C,), softmax of cosine similarities."""
        data_samples = data_samples or [{} for _ in range(len(images))]
        image_embeds = self.encode_image(images).detach()
        scores: List[Optional[torch.Tensor]] = [None] * len(images)
        # A batch may straddle two datasets of a ConcatDataset: one matrix product per task in it.
        for task, indices in self.group_by_task(data_samples).items():
            task_scores = class_scores(image_embeds[indices], self.class_embeddings(task))
            for index, score in zip(indices, task_scores):
                scores[index] = score
        return [dict(sample, pred_score=score) for sample, score in zip(data_samples, scores)]

    def group_by_task(self, data_samples: List[dict]) -> Dict[Task, List[int]]:
        groups: Dict[Task, List[int]] = {}
        for index, sample in enumerate(data_samples):
            groups.setdefault(self.task_for(sample.get('dataset_name')), []).append(index)
        return groups


def class_scores(image_embeds: torch.Tensor, class_embeds: torch.Tensor) -> torch.Tensor:
    """(N, C) softmax over classes of the cosine similarities, in float32, as CPU tensors."""
    # Outside autocast: under AMP the product would be rounded to half precision before the softmax.
    with torch.autocast(device_type=image_embeds.device.type, enabled=False):
        similarities = image_embeds.float() @ class_embeds.to(image_embeds.device).float().T
        return torch.softmax(similarities, dim=1).cpu()


def resolve_tasks(classnames, templates) -> Dict[Optional[str], Task]:
    """``{dataset_name: (classes, templates)}``, or ``{None: ...}`` when neither argument is per dataset."""
    per_dataset = [spec for spec in (classnames, templates) if isinstance(spec, Mapping)]
    if not per_dataset:
        return {_EVERY_DATASET: (resolve_classnames(classnames), resolve_templates(templates))}
    names = list(per_dataset[0])
    if len(per_dataset) == 2 and set(classnames) != set(templates):
        raise ValueError(f'model.classnames and model.templates are both per dataset but name different '
                         f'datasets: {sorted(classnames)} vs {sorted(templates)}')
    tasks = {}
    for name in names:
        class_spec = classnames[name] if isinstance(classnames, Mapping) else classnames
        template_spec = templates[name] if isinstance(templates, Mapping) else templates
        tasks[name] = (resolve_classnames(class_spec, f'model.classnames[{name!r}]'),
                       resolve_templates(template_spec, f'model.templates[{name!r}]'))
    return tasks
