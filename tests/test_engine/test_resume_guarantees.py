"""What ``tools/train.py --resume`` promises (docs/training.md, "What resume does"): the newest checkpoint
that loads, a work dir that can be copied, a plain word when there is nothing to resume, and no silent
overwriting of an earlier run's checkpoints."""
import glob
import os
import os.path as osp
import shutil

import pytest

from zerovl.engine.resume_checkpoint import NoLoadableCheckpointError, choose_resume_checkpoint
from zerovl.testing import load_script, tiny_demo_config

pytestmark = pytest.mark.usefixtures('one_thread')


def train(*args):
    """tools/train.py in this process (no interpreter start-up per run)."""
    load_script('tools/train.py').main(list(args))


def newest_log(work_dir: str) -> str:
    return open(max(glob.glob(osp.join(work_dir, '*', '*.log')))).read()


def truncate(path: str, size: int = None) -> None:
    size = os.path.getsize(path) // 2 if size is None else size
    with open(path, 'r+b') as f:
        f.truncate(size)


@pytest.fixture(scope='module')
def config_file(small_root, short_tmp):
    """The demo recipe at seconds scale, 2 epochs of 4 iterations, no validation."""
    cfg = tiny_demo_config(small_root, f'{short_tmp}/unused', max_epochs=2)
    cfg.train_cfg.val_begin = 3
    path = f'{short_tmp}/tiny.py'
    cfg.dump(path)
    return path


@pytest.fixture(scope='module')
def first_run(config_file, short_tmp):
    """A finished run: epoch_1.pth, epoch_2.pth and last_checkpoint. Tests work on copies of it."""
    work_dir = f'{short_tmp}/first'
    train(config_file, '--work-dir', work_dir)
    return work_dir


@pytest.fixture
def copy_of_first_run(first_run, short_tmp, request):
    copy = f'{short_tmp}/{request.node.name[:24]}'
    shutil.copytree(first_run, copy)
    yield copy
    shutil.rmtree(copy, ignore_errors=True)


def test_pointer_is_relative_and_a_copied_work_dir_resumes_from_its_own_files(config_file, copy_of_first_run):
    assert open(osp.join(copy_of_first_run, 'last_checkpoint')).read() == 'epoch_2.pth'
    # The copy alone, its original gone: resuming must read the copy's epoch_2.pth (the run is complete,
    # so nothing is trained).
    moved = copy_of_first_run + '_moved'
    os.rename(copy_of_first_run, moved)
    try:
        train(config_file, '--work-dir', moved, '--resume')
        assert f'Resuming from {moved}/epoch_2.pth' in newest_log(moved)
    finally:
        os.rename(moved, copy_of_first_run)


def test_old_absolute_pointer_into_the_original_dir_is_read_as_this_dirs_file(first_run, copy_of_first_run):
    with open(osp.join(copy_of_first_run, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(first_run, 'epoch_2.pth'))  # what the pointer held before it was relative
    assert choose_resume_checkpoint(copy_of_first_run).path == osp.join(copy_of_first_run, 'epoch_2.pth')


def test_truncated_newest_checkpoint_falls_back_to_the_previous_one(config_file, copy_of_first_run):
    truncate(osp.join(copy_of_first_run, 'epoch_2.pth'))
    train(config_file, '--work-dir', copy_of_first_run, '--resume')
    log = newest_log(copy_of_first_run)
    assert f'Not resuming from {copy_of_first_run}/epoch_2.pth: not a complete checkpoint archive' in log
    assert f'Resuming from {copy_of_first_run}/epoch_1.pth (the newest checkpoint that loads)' in log
    assert 'Epoch(train) [2][4/4]' in log  # the second epoch was trained again and saved whole
    assert choose_resume_checkpoint(copy_of_first_run).skipped == []


def test_empty_newest_checkpoint_is_skipped_and_nothing_loadable_stops_naming_each(copy_of_first_run):
    truncate(osp.join(copy_of_first_run, 'epoch_2.pth'), size=0)  # what a bare EOFError came from
    choice = choose_resume_checkpoint(copy_of_first_run)
    assert choice.path == osp.join(copy_of_first_run, 'epoch_1.pth')
    assert choice.skipped == [f'{copy_of_first_run}/epoch_2.pth: empty file (0 bytes)']
    truncate(osp.join(copy_of_first_run, 'epoch_1.pth'))
    with pytest.raises(NoLoadableCheckpointError) as error:
        choose_resume_checkpoint(copy_of_first_run)
    assert 'epoch_2.pth: empty file' in str(error.value) and 'epoch_1.pth: not a complete' in str(error.value)


def test_resume_with_nothing_to_resume_says_so_and_trains_from_scratch(config_file, short_tmp):
    work_dir = f'{short_tmp}/empty'
    train(config_file, '--work-dir', work_dir, '--resume', '--cfg-options', 'train_cfg.max_epochs=1')
    log = newest_log(work_dir)
    assert f'--resume: nothing to resume in {work_dir}' in log and 'training from scratch' in log
    assert 'latest checkpoint None' not in log
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))


def test_resume_from_a_named_checkpoint_that_cannot_load_is_refused(config_file, short_tmp):
    missing = f'{short_tmp}/nowhere/epoch_9.pth'
    with pytest.raises(SystemExit, match=f'--resume {missing}: cannot resume from this checkpoint: no such'):
        train(config_file, '--work-dir', f'{short_tmp}/named', '--resume', missing)


def test_resume_and_overwrite_together_are_refused(config_file, short_tmp):
    with pytest.raises(SystemExit):
        train(config_file, '--work-dir', f'{short_tmp}/both', '--resume', '--overwrite')


def test_used_work_dir_is_refused_and_overwrite_moves_the_old_checkpoints_aside(config_file, copy_of_first_run):
    with pytest.raises(SystemExit) as refused:
        train(config_file, '--work-dir', copy_of_first_run)
    message = str(refused.value)
    assert 'epoch_1.pth, epoch_2.pth, last_checkpoint' in message
    assert '--resume' in message and '--overwrite' in message
    old = open(osp.join(copy_of_first_run, 'epoch_2.pth'), 'rb').read()

    train(config_file, '--work-dir', copy_of_first_run, '--overwrite', '--cfg-options', 'train_cfg.max_epochs=1')
    aside, = glob.glob(osp.join(copy_of_first_run, 'overwritten', '*'))
    assert sorted(os.listdir(aside)) == ['epoch_1.pth', 'epoch_2.pth', 'last_checkpoint']
    assert open(osp.join(aside, 'epoch_2.pth'), 'rb').read() == old
    assert sorted(p for p in os.listdir(copy_of_first_run) if p.endswith('.pth')) == ['epoch_1.pth']
    assert 'moved the earlier run\'s checkpoints into' in newest_log(copy_of_first_run)
