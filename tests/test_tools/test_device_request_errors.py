"""``--device cuda`` on a machine without a visible GPU: one line saying so, not a traceback from deep inside
the Runner. CUDA is hidden by patching, so the check also runs on a machine with a GPU."""
import pytest
import torch

from zerovl.testing.scripts import load_script

CONFIG = 'configs/zerovl/zerovl_demo.py'


@pytest.mark.parametrize('tool, extra', [('tools/train.py', []), ('tools/test.py', ['missing.pth'])])
def test_cuda_without_a_gpu_is_a_one_line_error(tool, extra, monkeypatch, short_work_dir):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(SystemExit) as stop:
        load_script(tool).main([CONFIG, *extra, '--work-dir', short_work_dir, '--device', 'cuda'])
    message = str(stop.value.code)
    assert message.startswith('error: --device=cuda, but no CUDA device is visible here')
    assert message.endswith('use --device=cpu or --device=auto') and '\n' not in message


def test_the_same_run_on_cpu_gets_past_the_device_check(monkeypatch, short_work_dir):
    """The negative control: with --device cpu the same command goes on to build the model (an unknown
    image tower here, so that it stops there at once)."""
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(RuntimeError, match=r'Unknown model \(no_such_model\)'):
        load_script('tools/test.py').main([CONFIG, 'missing.pth', '--work-dir', short_work_dir, '--device', 'cpu',
                                           '--cfg-options', 'model.image_tower.model_name=no_such_model'])


@pytest.mark.parametrize('tool, argv', [
    ('tools/infer.py', ['zerovl_demo', '--texts', 'a red circle']),
    ('tools/analysis_tools/clip_benchmark_local.py', ['{folder}', '--task', 'zeroshot_retrieval', '--data-root',
                                                     '{folder}', '--name', 'x']),
])
def test_inference_tools_say_it_in_one_line_too(tool, argv, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    argv = [arg.format(folder=tmp_path) for arg in argv]
    assert load_script(tool).main([*argv, '--device', 'cuda']) != 0
    error = capsys.readouterr().err.strip()
    assert error.startswith('error: --device=cuda, but no CUDA device is visible here') and '\n' not in error
