"""What an export's ``zerovl_model.json`` may ask for: checked before anything in it is imported or built.

An export may come from anyone, and the docs promise that opening one cannot run code. JSON itself cannot,
but what it names can:

* a ``type`` is looked up in MMEngine's registries, which import any dotted name (``'os.system'``) and
  call it with the other keys as arguments; so every ``type`` must be a registered zerovl name
  (:mod:`zerovl.utils.registered_types`): ``model`` from MODELS, ``test_pipeline`` from TRANSFORMS;
* ``trust_remote_code`` would let Hugging Face import Python files shipped in the export's folders;
* a tower's ``checkpoint`` or ``pretrained`` would read weights from elsewhere (a pickle among them), while
  an export's weights are its ``model.safetensors`` and the export writer switches both off.
"""
from .exported import ExportError

WEIGHT_SOURCE_KEYS = ('checkpoint', 'pretrained')


def check_types(manifest: dict, source: str) -> None:
    import zerovl.datasets  # noqa: F401  our own modules: they register the transforms
    import zerovl.models  # noqa: F401  and the models
    from zerovl.registry import MODELS, TRANSFORMS
    from zerovl.utils.registered_types import UnregisteredTypeError, check_registered_types
    try:
        check_registered_types(manifest['model'], MODELS, source, 'model')
        check_registered_types(manifest['test_pipeline'], TRANSFORMS, source, 'test_pipeline')
    except UnregisteredTypeError as error:
        raise ExportError(str(error)) from None


def check_no_code_or_outside_weights(manifest: dict, source: str) -> None:
    from zerovl.utils.registered_types import iter_key
    for key_path, value in iter_key(manifest, 'trust_remote_code'):
        if value:
            raise ExportError(f'{source}: {key_path}={value!r} would run Python code shipped with the export; '
                              'an export never needs it')
    for key in WEIGHT_SOURCE_KEYS:
        for key_path, value in iter_key(manifest['model'], key, 'model'):
            if value:
                raise ExportError(f'{source}: {key_path}={value!r} would load weights from outside the export; '
                                  'its weights are its model.safetensors (the export writer sets no other source)')


def check_manifest(manifest: dict, source: str) -> None:
    """Raise :class:`ExportError` naming the file and the key unless ``manifest`` builds only zerovl's
    registered types from the export's own files."""
    for part in ('model', 'test_pipeline'):
        expected = dict if part == 'model' else list
        if not isinstance(manifest[part], expected):
            raise ExportError(f'{source}: {part} must be a JSON {"object" if expected is dict else "array"}, '
                              f'got {type(manifest[part]).__name__}')
    check_types(manifest, source)
    check_no_code_or_outside_weights(manifest, source)
